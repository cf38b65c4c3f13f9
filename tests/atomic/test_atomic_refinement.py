"""AtomicRefinement: the refined atomic code in the graph (Newson and
Traonmilin 2023, section 2.1 eq. 3: the decoder is a sum of shared atoms,
so the code can be fitted through it, one atom per spike)."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from geomae_tf.datasets import spikes
from geomae_tf.models.atomic import atomic_autoencoder
from geomae_tf.models.atomic.atomic_refinement import AtomicRefinement
from geomae_tf.models.atomic.inference import locate_atoms, locate_atoms_ops


def gaussians(centres, amplitudes, side=16, sigma=1.5):
    grid = np.arange(side, dtype=np.float64)
    out = np.zeros((len(centres), side, side))
    for i, ((r, c), a) in enumerate(zip(centres, amplitudes)):
        out[i] = a * np.exp(-((grid[:, None] - r) ** 2 + (grid[None] - c) ** 2)
                            / (2 * sigma ** 2))
    return out


def test_located_atoms_are_exact_for_gaussians_in_numpy_and_tensor_ops():
    """The log-parabola vertex is exact for a Gaussian: sub-pixel centres and
    peak heights come back, from numpy and from tensor operations alike."""
    centres = [(5.3, 9.8), (10.0, 4.25), (7.6, 7.4)]
    atoms = gaussians(centres, [0.9, 0.6, 0.3])[None]                # (1, 3, 16, 16)
    positions, amplitudes = locate_atoms(atoms)
    np.testing.assert_allclose(positions[0], centres, atol=1e-6)
    np.testing.assert_allclose(amplitudes[0], [0.9, 0.6, 0.3], atol=1e-6)
    tpos, tamp = locate_atoms_ops(ops.convert_to_tensor(atoms.astype(np.float32)))
    np.testing.assert_allclose(ops.convert_to_numpy(tpos), positions, atol=1e-3)
    np.testing.assert_allclose(ops.convert_to_numpy(tamp), amplitudes, atol=1e-3)


@pytest.fixture(scope="module")
def tiny():
    ae = atomic_autoencoder(k=3, d0=3, image_size=16)
    images, _ = spikes.make_spikes(6, seed=5, image_size=16, sigma=1.0, max_spikes=3)
    return ae, images


def test_pruning_keeps_the_brightest_of_close_atoms(tiny):
    """Greedy, brightest first: an active atom within `merge_distance` of a
    brighter kept one is switched off, as are inactive atoms."""
    ae, _ = tiny
    layer = AtomicRefinement(ae.encoder, ae.decoder, merge_distance=2.0)
    positions = np.array([[[5.0, 5.0], [6.0, 5.5], [12.0, 12.0]],
                          [[3.0, 3.0], [3.5, 3.0], [3.0, 4.0]]], np.float32)
    amplitudes = np.array([[0.5, 0.9, 0.6], [0.2, 0.8, 0.7]], np.float32)
    kept = ops.convert_to_numpy(layer._prune(ops.convert_to_tensor(positions),
                                             ops.convert_to_tensor(amplitudes)))
    np.testing.assert_array_equal(kept, [[False, True, True], [False, True, False]])


def test_refined_atoms_switch_off_blocks_as_zero_images_at_any_batch_size(tiny):
    ae, images = tiny
    refined = ae.atoms(images)
    assert refined.shape == ae.atoms(images, refine=False).shape == (6, 3, 16, 16, 1)
    z, live = ae.refiner()(images)
    live = ops.convert_to_numpy(live)
    assert set(np.unique(live)) <= {0.0, 1.0}
    assert np.all(refined[live == 0] == 0.0)
    # the same answer by batches of any size (a fixed graph, no per-image loop)
    np.testing.assert_allclose(ae.atoms(images, batch_size=4), refined, atol=1e-5)


@pytest.mark.slow
def test_the_trained_spike_entry_finds_one_atom_per_spike():
    """On fresh spike images the refined code of atomic_spikes_refined
    (its zoo options) finds the spikes the encoder's one-pass code misses
    (section 3.2, Figure 5): recall and precision near 1, sub-pixel centres."""
    from geomae_tf import zoo
    from geomae_tf.analysis.atomic import spike_recovery
    from geomae_tf.zoo.presets import SPIKE_REFINE

    try:
        ae = zoo.load("atomic_spikes_refined")
    except FileNotFoundError:
        pytest.skip("atomic_spikes_refined is not trained on this machine")
    images, f = spikes.make_spikes(32, seed=77, image_size=64)
    truth = (f["positions"], f["amplitudes"], f["count"])
    refined = spike_recovery(ae.atoms(images, refine=SPIKE_REFINE), *truth)
    one_pass = spike_recovery(ae.atoms(images, refine=False), *truth)
    assert refined["recall"] >= 0.95 and refined["precision"] >= 0.95
    assert refined["position_rmse"] <= 0.45 and refined["amplitude_error"] <= 0.12
    assert refined["recall"] > one_pass["recall"] + 0.1
    assert refined["position_rmse"] < one_pass["position_rmse"]


def test_refine_options_are_the_models_own_and_checked(tiny):
    ae, images = tiny
    other = atomic_autoencoder(k=3, d0=3, image_size=16, refine={"rounds": 0, "steps": 0})
    other.set_weights(ae.get_weights())
    assert other.get_config()["refine"] == {"rounds": 0, "steps": 0}
    # no steps and no rounds: the encoder's atoms
    np.testing.assert_allclose(other.atoms(images), ae.atoms(images, refine=False), atol=1e-5)
    with pytest.raises(ValueError, match=r"`refine` options must be among"):
        ae.atoms(images, refine={"stepz": 3})
    with pytest.raises(ValueError, match=r"`solver` must be one of"):
        AtomicRefinement(ae.encoder, ae.decoder, solver="lbfgs")
    with pytest.raises(ValueError, match=r"`steps` must be an int >= 0"):
        AtomicRefinement(ae.encoder, ae.decoder, steps=-1)


def test_layer_config_round_trips(tiny):
    ae, images = tiny
    layer = AtomicRefinement(ae.encoder, ae.decoder, steps=2, rounds=1)
    clone = AtomicRefinement.from_config(layer.get_config())
    assert clone.options() == layer.options()
    assert clone.off_code == layer.off_code   # found once, stored in the config


def test_a_refined_call_logs_no_tensorflow_error_or_warning(tmp_path):
    """A refined call (its off code, tracing, two batch sizes) writes no E- or
    W-level TensorFlow line and no retracing warning to stderr."""
    script = textwrap.dedent("""
        import sys
        import numpy as np
        from geomae_tf.datasets import spikes
        from geomae_tf.models.atomic import atomic_autoencoder
        ae = atomic_autoencoder(k=3, d0=3, image_size=16)
        images, _ = spikes.make_spikes(7, seed=1, image_size=16, sigma=1.0, max_spikes=3)
        ae.atoms(images[:1], refine=False)
        print("MARK", file=sys.stderr, flush=True)
        for n in (7, 3, 5, 2, 6, 1, 4):
            ae.atoms(images[:n])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, env={**__import__("os").environ,
                                            "KERAS_BACKEND": "tensorflow"})
    assert done.returncode == 0, done.stderr[-2000:]
    after = done.stderr.split("MARK", 1)[1].splitlines()
    bad = [line for line in after
           if line[:1] in ("E", "W") and line[1:5].isdigit() or "WARNING" in line
           or "retracing" in line]
    assert not bad, bad
