"""The tiny atomic recipe that the backend checks train (Newson and Traonmilin
2023, section 2.3: k = 3 blocks of d0 = 3 on 16x16 spike images)."""

#: The recipe without its [training] section.
TINY_ATOMIC = """
entry = "atomic_spikes"
factory = "atomic_autoencoder"
[model]
k = 3
d0 = 3
image_size = 16
block_units = 8
[data]
dataset = "spikes"
mode = "fixed"
image_size = 16
max_spikes = 3
n_train = {n_train}
"""


def tiny_atomic(n_train: int = 32, training: str | None = "epochs = 2\nbatch_size = 16\n"
                "seed = 0\n") -> str:
    """The tiny atomic recipe on `n_train` images; `training` is the body of its
    [training] section (None: no section)."""
    text = TINY_ATOMIC.format(n_train=n_train)
    return text if training is None else text + "[training]\n" + training
