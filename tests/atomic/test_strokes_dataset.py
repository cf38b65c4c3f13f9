"""Stroke images: sums of quadratic Bezier curves drawn with a Gaussian pen."""

import numpy as np
import pytest
import tensorflow as tf

from geomae_tf import datasets
from geomae_tf.datasets import strokes


def bezier(points, t):
    p0, p1, p2 = points
    return ((1 - t) ** 2)[:, None] * p0 + (2 * t * (1 - t))[:, None] * p1 + (t ** 2)[:, None] * p2


def test_registered():
    assert datasets.DATASETS["strokes"] is strokes


def test_a_straight_stroke_has_the_profile_of_the_pen():
    points = tf.constant([[[[20.0, 8.0], [20.0, 32.0], [20.0, 56.0]]]])
    image = strokes.render_strokes(points, tf.constant([1])).numpy()[0, 0]
    across = image[14:27, 32]
    d = np.arange(14, 27) - 20.0
    np.testing.assert_allclose(across, np.exp(-d ** 2 / 2.0), atol=1e-4)   # sigma = 1 px
    np.testing.assert_allclose(image[20, 8], 0.5, atol=1e-3)              # ends fade to 1/2


def test_images_are_sums_of_strokes_that_follow_their_curves():
    images, f = strokes.make_strokes(60, seed=2, return_strokes=True)
    assert images.shape == (60, 64, 64, 1)
    assert images.min() >= 0 and images.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(f["strokes"].sum(axis=1), images[..., 0], atol=1e-5)
    counts = f["count"]
    assert counts.min() >= 1 and counts.max() <= strokes.MAX_STROKES
    t = np.linspace(0.1, 0.9, 9)
    for n in range(0, 60, 7):
        for s in range(counts[n]):
            cp = f["control_points"][n, s]
            assert cp.min() >= strokes.MARGIN - 1e-4 and cp.max() <= 63 - strokes.MARGIN + 1e-4
            on = np.rint(bezier(cp, t)).astype(int)
            stroke = f["strokes"][n, s] / f["scale"][n]
            # A pixel within 0.71 px of the curve has at least exp(-0.25) of the ink.
            assert stroke[on[:, 0], on[:, 1]].min() > 0.5
        assert np.all(np.isnan(f["control_points"][n, counts[n]:]))


def test_clip_overlap_saturates_instead_of_scaling():
    scaled, fs = strokes.make_strokes(40, seed=4, max_strokes=6)
    clipped, fc = strokes.make_strokes(40, seed=4, max_strokes=6, overlap="clip")
    assert np.all(fc["scale"] == 1.0)
    crossing = fs["scale"] < 0.9
    assert crossing.any()
    assert clipped[crossing].max() == pytest.approx(1.0)
    np.testing.assert_allclose(scaled[~crossing & (fs["scale"] == 1.0)],
                               clipped[~crossing & (fs["scale"] == 1.0)], atol=1e-6)


def test_pipelines():
    x, y = next(iter(strokes.training_dataset(batch_size=3, seed=1, image_size=32,
                                              length_range=(4.0, 12.0))))
    assert x.shape == (3, 32, 32, 1)
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    fixed = strokes.training_dataset(batch_size=4, mode="fixed", n_train=6, image_size=32)
    assert [b.shape[0] for b, _ in fixed] == [4, 2]


@pytest.mark.parametrize("kwargs, match", [
    ({"overlap": "max"}, r"`overlap` must be one of \['clip', 'scale'\]"),
    ({"length_range": (5.0,)}, r"`length_range` must be a \(low, high\) pair"),
    ({"margin": 40.0}, r"`margin` leaves no room"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        strokes.make_strokes(2, **kwargs)
