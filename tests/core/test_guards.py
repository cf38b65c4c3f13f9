"""Inputs are checked on every path: the numpy API, `predict`, an inference call
`ae(x)`, and the served signatures, which refuse what `encode` refuses with
INVALID_ARGUMENT. Empty batches give empty results of the right shape, and
decoded images (which overshoot [0, 1] a little) can be encoded again."""


import keras
import numpy as np
import pytest
import tensorflow as tf

from geomae_tf import validation, zoo
from geomae_tf.datasets import disks
from geomae_tf.export import export_saved_model
from tests.harness import check_served_signature, input_of

RNG = np.random.default_rng(1)


@pytest.fixture(scope="module")
def atomic_ae():
    keras.utils.set_random_seed(0)
    return zoo.atomic_autoencoder(k=3, d0=2, image_size=16)


@pytest.fixture(scope="module")
def served(atomic_ae, tmp_path_factory):
    path = export_saved_model(atomic_ae, tmp_path_factory.mktemp("served"))
    return tf.saved_model.load(str(path)).signatures


def _images(n=2, size=16, low=0.0, high=1.0):
    return RNG.uniform(low, high, (n, size, size, 1)).astype("float32")


@pytest.mark.parametrize("kind", ["atomic", "disk", "pca", "position"])
def test_empty_batches_give_empty_results_of_the_right_shape(kind, atomic_ae):
    if kind == "atomic":
        ae = atomic_ae
    elif kind == "disk":
        ae = zoo.disk_autoencoder()
    elif kind == "pca":
        ae = zoo.pca_autoencoder(latent_dim=2, image_size=16)
    else:
        ae = zoo.position_encoder(supervised=False)
    empty = np.zeros((0,) + ae.image_shape, "float32")
    assert ae.encode(empty).shape == (0, ae.latent_dim)
    assert ae.decode(np.zeros((0, ae.latent_dim))).shape == (0,) + ae.image_shape
    assert ae.reconstruct(empty).shape == (0,) + ae.image_shape
    assert ae.predict(empty).shape == (0,) + ae.image_shape
    if kind == "atomic":
        assert ae.atoms(empty).shape == (0, 3, 16, 16, 1)


def test_decoded_overshoot_passes_and_clip_handles_any_decoded_image(atomic_ae):
    tol = validation.RANGE_TOLERANCE
    # what decoders give: slightly outside [0, 1]
    x = np.clip(_images(low=-0.1, high=1.1), -tol + 1e-3, 1 + tol - 1e-3)
    assert x.min() < 0 and x.max() > 1
    np.testing.assert_allclose(atomic_ae.encode(x), atomic_ae.encoder.predict(x, verbose=0),
                               atol=1e-6)
    far = _images(low=-0.5, high=1.5)
    with pytest.raises(ValueError, match=r"`images` must have values in \[0.0, 1.0\].*clip"):
        atomic_ae.encode(far)
    np.testing.assert_allclose(atomic_ae.encode(far, clip=True),
                               atomic_ae.encode(np.clip(far, 0, 1)), atol=1e-6)
    np.testing.assert_allclose(atomic_ae.reconstruct(far, clip=True),
                               atomic_ae.reconstruct(np.clip(far, 0, 1)), atol=1e-6)


def test_encode_of_decode_is_accepted_on_a_trained_entry():
    """E(D(z)) (JMIV 2020, section 4) on the disk autoencoder's decoded disks."""
    ae = zoo.load("disk_ae")
    z = ae.encode(disks.render_disks(np.linspace(0.5, 31.5, 16)).numpy())
    decoded = ae.decode(np.linspace(z.min(), z.max(), 9)[:, None])
    assert decoded.min() < 0 or decoded.max() > 1  # the decoder does overshoot
    assert ae.encode(decoded).shape == (9, 1)
    # an entry that overshoots further is studied with clip=True
    nobias = zoo.load("disk_ae_nobias")
    decoded = nobias.reconstruct(disks.render_disks(np.linspace(0.5, 31.5, 64)).numpy())
    assert decoded.max() > 1 + validation.RANGE_TOLERANCE
    with pytest.raises(ValueError, match="pass clip=True"):
        nobias.encode(decoded)
    assert nobias.encode(decoded, clip=True).shape == (64, 1)


@pytest.mark.parametrize("bad, match", [
    (lambda x: x * 255, r"values in \[0.0, 1.0\]"),
    (lambda x: np.where(x > 0.5, np.nan, x), "must be finite"),
    (lambda x: x.astype("uint8"), "not integers"),
    (lambda x: x[:, :8], "16x16 images"),
])
def test_predict_and_inference_calls_refuse_what_encode_refuses(atomic_ae, bad, match):
    x = bad(_images())
    for path in (atomic_ae.encode, atomic_ae.predict, atomic_ae, atomic_ae.reconstruct,
                 lambda v: atomic_ae(tf.constant(v))):
        with pytest.raises((ValueError, TypeError), match=match):
            path(x)


def test_symbolic_and_training_calls_are_left_to_keras(atomic_ae):
    out = atomic_ae(keras.Input((16, 16, 1)))
    assert tuple(out.shape) == (None, 16, 16, 1)
    # training calls (custom loops) are not checked: the data pipeline is
    y = atomic_ae(_images() * 2, training=True)
    assert y.shape == (2, 16, 16, 1)


@pytest.mark.parametrize("signature", ["serving_default", "encode", "atoms"])
def test_served_signatures_refuse_bad_images_as_invalid_argument(served, signature):
    x = _images()
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"values in \[0, 1\]"):
        served[signature](images=tf.constant(x * 255))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"values in \[0, 1\]"):
        served[signature](images=tf.constant(x - 0.5))
    nan = x.copy()
    nan[0, 3, 3, 0] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="`images` must be finite"):
        served[signature](images=tf.constant(nan))
    inf = x.copy()
    inf[1, 0, 0, 0] = -np.inf
    with pytest.raises(tf.errors.InvalidArgumentError, match="`images` must be finite"):
        served[signature](images=tf.constant(inf))


def test_served_signatures_accept_overshoot_and_empty_batches(served, atomic_ae):
    x = np.clip(_images(low=-0.04, high=1.04), -0.04, 1.04)
    out = served["serving_default"](images=tf.constant(x))["reconstruction"].numpy()
    np.testing.assert_allclose(out, atomic_ae.reconstruct(x), atol=1e-5)
    empty = tf.zeros((0, 16, 16, 1))
    assert served["serving_default"](images=empty)["reconstruction"].shape == (0, 16, 16, 1)
    assert served["encode"](images=empty)["z"].shape == (0, 6)
    assert served["atoms"](images=empty)["atoms"].shape == (0, 3, 16, 16, 1)
    assert served["decode"](z=tf.zeros((0, 6)))["reconstruction"].shape == (0, 16, 16, 1)


def test_served_decode_refuses_non_finite_codes(served):
    z = np.zeros((2, 6), "float32")
    z[1, 2] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="`z` must be finite"):
        served["decode"](z=tf.constant(z))
    # large finite codes are the caller's business: decoded, not refused
    assert served["decode"](z=tf.constant(np.full((1, 6), 1e3, "float32")))[
        "reconstruction"].shape == (1, 16, 16, 1)


def test_served_position_model_refuses_non_finite_positions(tmp_path):
    decoder = zoo.position_decoder()
    served = tf.saved_model.load(str(export_saved_model(decoder, tmp_path))).signatures
    with pytest.raises(tf.errors.InvalidArgumentError, match="`position` must be finite"):
        served["serving_default"](position=tf.constant([[np.inf]], tf.float32))


# -- every served signature, reloaded fresh: good, wrong shape, NaN, 0..255, empty ------

def _sequential():
    return keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Conv2D(4, 3, padding="same"),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])


SERVED_KINDS = {
    # 64x64 disks: the convolution whose empty batch TensorFlow's CPU kernel mis-shapes
    "disk": lambda: zoo.disk_autoencoder(),
    "position_encoder": lambda: zoo.position_encoder(),
    "position_decoder": lambda: zoo.position_decoder(),
    "sequential": _sequential,
}


@pytest.fixture(scope="module", params=["atomic"] + list(SERVED_KINDS))
def every_signature(request, atomic_ae, served, tmp_path_factory):
    if request.param == "atomic":
        return atomic_ae, served
    keras.utils.set_random_seed(0)
    model = SERVED_KINDS[request.param]()
    path = export_saved_model(model, tmp_path_factory.mktemp(request.param))
    return model, tf.saved_model.load(str(path)).signatures


def test_every_signature_checks_shape_and_values_and_takes_empty_batches(every_signature):
    _, signatures = every_signature
    for signature in signatures.values():
        check_served_signature(signature, RNG)


def test_a_sequential_model_is_served_under_its_input_and_output_names(tmp_path):
    model = _sequential()
    loaded = tf.saved_model.load(str(export_saved_model(model, tmp_path)))
    name, shape = input_of(loaded.signatures["serving_default"])
    assert (name, shape) == (model.inputs[0].name, (None, 16, 16, 1))
    x = _images(3)
    out = loaded.signatures["serving_default"](**{name: tf.constant(x)})
    assert list(out) == [model.layers[-1].name]
    np.testing.assert_allclose(out[model.layers[-1].name], model.predict(x, verbose=0),
                               atol=1e-5)


def test_models_without_one_known_input_are_refused_saying_why(tmp_path):
    with pytest.raises(ValueError, match="known input shape"):
        export_saved_model(keras.Sequential([keras.layers.Dense(2)]), tmp_path)
    a, b = keras.Input((3,)), keras.Input((3,))
    two = keras.Model([a, b], keras.layers.Add()([a, b]))
    with pytest.raises(ValueError, match=r"one input and one output.*2 input\(s\)"):
        export_saved_model(two, tmp_path)
    assert not any(tmp_path.iterdir())
