"""Tiny recipes for tests: the disk autoencoder on a few dozen disks."""

TINY = """
entry = "disk_ae"
factory = "disk_autoencoder"
[model]
latent_dim = 1
[data]
dataset = "disks"
mode = "fixed"
n_train = {n_train}
[training]
epochs = {epochs}
batch_size = {batch_size}
learning_rate = {learning_rate}
seed = {seed}
[evaluation]
n_test = 40
n_samples = 64
"""


def write_tiny(path, n_train=60, epochs=2, batch_size=30, learning_rate=1e-3, seed=0,
               extra=""):
    path.write_text(TINY.format(n_train=n_train, epochs=epochs, batch_size=batch_size,
                                learning_rate=learning_rate, seed=seed) + extra)
    return path
