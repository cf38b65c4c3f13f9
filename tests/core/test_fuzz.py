"""Property-based tests: random shapes, dtypes, ranges, NaN/inf and empty arrays
thrown at `encode`, `decode`, `atoms` and the served signatures. Each input gets
a correct result or our clear error (ValueError/TypeError naming the argument;
INVALID_ARGUMENT from a served signature), never a traceback from inside Keras
or TensorFlow."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from geomae_tf import validation, zoo
from geomae_tf.export import export_saved_model

SIZE, K, D0 = 16, 2, 2
FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

DTYPES = st.sampled_from(["float16", "float32", "float64", "int32", "uint8", "bool",
                          "complex64"])
VALUES = st.floats(allow_nan=True, allow_infinity=True, width=32)


def _array(shape, dtype_name):
    dtype = np.dtype(dtype_name)
    elements = None
    if dtype.kind == "f":  # in range, out of range, NaN and infinities
        width = 16 if dtype.itemsize == 2 else 32
        elements = st.floats(-2.0, 3.0, width=width) | st.floats(width=width)
    return hnp.arrays(dtype, shape, elements=elements)


#: Mostly image-shaped batches (some empty, some with values out of range or
#: not finite), then any rank and size.
IMAGE_SHAPES = st.one_of(
    st.tuples(st.integers(0, 3), st.just(SIZE), st.just(SIZE), st.just(1)),
    hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=SIZE + 1))
IMAGES = st.tuples(IMAGE_SHAPES, DTYPES).flatmap(lambda a: _array(*a))
IMAGE_LIKE = st.one_of(
    st.tuples(IMAGE_SHAPES, st.just("float32")).flatmap(lambda a: _array(*a)),
    IMAGES,
    st.sampled_from([None, "images", {"images": 1}, [[0.5], [0.5, 0.5]], 3.0]))
CODES = st.tuples(st.one_of(st.tuples(st.integers(0, 3), st.just(K * D0)),
                            hnp.array_shapes(min_dims=0, max_dims=3, max_side=7)),
                  DTYPES).flatmap(lambda a: _array(*a))


@pytest.fixture(scope="module")
def ae():
    keras.utils.set_random_seed(0)
    return zoo.atomic_autoencoder(k=K, d0=D0, image_size=SIZE)


@pytest.fixture(scope="module")
def served(ae, tmp_path_factory):
    path = export_saved_model(ae, tmp_path_factory.mktemp("fuzz"))
    return tf.saved_model.load(str(path)).signatures


def _acceptable_images(x):
    """What `encode` must accept: float (N, 16, 16, 1), finite, in range."""
    array = np.asarray(x) if isinstance(x, np.ndarray) else None
    if array is None or array.dtype.kind != "f" or array.shape[1:] != (SIZE, SIZE, 1):
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        values = array.astype("float32")
    tol = validation.RANGE_TOLERANCE
    return bool(np.all(np.isfinite(values))) and (values.size == 0 or (
        values.min() >= -tol and values.max() <= 1 + tol))


def _our_error(err, name):
    return isinstance(err, (ValueError, TypeError)) and f"`{name}`" in str(err)


@FUZZ
@given(x=IMAGE_LIKE)
def test_encode_and_atoms_answer_or_refuse_by_name(ae, x):
    for method, tail in ((ae.encode, (K * D0,)), (ae.atoms, (K, SIZE, SIZE, 1)),
                         (ae.reconstruct, (SIZE, SIZE, 1))):
        try:
            out = method(x)
        except Exception as err:  # noqa: BLE001 - the property is about what is raised
            assert _our_error(err, "images"), f"{type(err).__name__}: {err}"
            assert not _acceptable_images(x)
            continue
        assert _acceptable_images(x)
        assert out.shape == (len(x),) + tail and out.dtype == np.float32
        assert np.all(np.isfinite(out))


@FUZZ
@given(z=st.one_of(CODES, st.sampled_from([None, "z", [[1.0], [1.0, 2.0]]])))
def test_decode_answers_or_refuses_by_name(ae, z):
    valid = (isinstance(z, np.ndarray) and z.dtype.kind in "fiu" and z.ndim == 2
             and z.shape[1] == K * D0 and bool(np.all(np.isfinite(z.astype("float32")))))
    try:
        out = ae.decode(z)
    except Exception as err:  # noqa: BLE001
        assert _our_error(err, "z"), f"{type(err).__name__}: {err}"
        assert not valid
        return
    assert valid
    assert out.shape == (len(z), SIZE, SIZE, 1)


@FUZZ
@given(x=hnp.arrays("float32", st.tuples(st.integers(0, 3), st.just(SIZE), st.just(SIZE),
                                         st.just(1)),
                    elements=st.one_of(st.floats(-0.25, 1.25, width=32), VALUES)))
def test_served_signatures_answer_or_refuse_as_invalid_argument(served, ae, x):
    for name, key, tail in (("serving_default", "reconstruction", (SIZE, SIZE, 1)),
                            ("encode", "z", (K * D0,)), ("atoms", "atoms", (K, SIZE, SIZE, 1))):
        try:
            out = served[name](images=tf.constant(x))[key].numpy()
        except tf.errors.InvalidArgumentError as err:
            assert "`images` must" in err.message
            assert not _acceptable_images(x)
            continue
        assert _acceptable_images(x)
        assert out.shape == (len(x),) + tail
    if _acceptable_images(x):
        np.testing.assert_allclose(
            served["serving_default"](images=tf.constant(x))["reconstruction"].numpy(),
            ae.reconstruct(x), atol=1e-5)


@FUZZ
@given(z=hnp.arrays("float32", st.tuples(st.integers(0, 3), st.just(K * D0)), elements=VALUES))
def test_served_decode_answers_or_refuses_as_invalid_argument(served, z):
    try:
        out = served["decode"](z=tf.constant(z))["reconstruction"].numpy()
    except tf.errors.InvalidArgumentError as err:
        assert "`z` must be finite" in err.message
        assert not np.all(np.isfinite(z))
        return
    assert np.all(np.isfinite(z))
    assert out.shape == (len(z), SIZE, SIZE, 1)


@FUZZ
@given(shape=hnp.array_shapes(min_dims=1, max_dims=5, max_side=SIZE + 1),
       dtype=st.sampled_from([tf.float64, tf.int32, tf.uint8, tf.float16]))
def test_served_signatures_refuse_other_shapes_and_dtypes_at_the_signature(served, shape,
                                                                           dtype):
    """The signature itself fixes (None, 16, 16, 1) float32: anything else is refused
    before the model runs (TF Serving answers such requests INVALID_ARGUMENT)."""
    x = tf.zeros(shape, dtype)
    if tuple(shape[1:]) == (SIZE, SIZE, 1) and len(shape) == 4 and dtype == tf.float32:
        return
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError)):
        served["serving_default"](images=x)


LOADER_DTYPES = st.sampled_from(["float32", "float64", "float16", "uint8", "uint16", "int16",
                                 "bool", "complex64"])


@FUZZ
@given(array=st.tuples(hnp.array_shapes(min_dims=1, max_dims=5, min_side=0, max_side=9),
                       LOADER_DTYPES).flatmap(lambda a: _array(*a)),
       fit=st.sampled_from(["resize", "crop", "none"]))
def test_image_loader_array_path_answers_or_names_the_file(tmp_path_factory, array, fit):
    """`datasets.images.load_images` on a `.npy` array: grey float32 images in
    [0, 1] at `image_size`, or an `ImageDataError` naming the file."""
    from geomae_tf.datasets import images

    path = tmp_path_factory.mktemp("npy") / "fuzzed.npy"
    np.save(path, array)
    try:
        out = images.load_images(path, image_size=8, fit=fit)
    except images.ImageDataError as err:
        assert str(path) in str(err) or path.name in str(err), str(err)
        return
    assert out.shape == (len(array), 8, 8, 1) and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and out.min() >= 0.0 and out.max() <= 1.0
