"""Latent navigation: sweeps, GIFs that show what they claim, the CLI and the notebook."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from geomae_tf import zoo
from geomae_tf.analysis import navigation
from geomae_tf.cli import main
from geomae_tf.datasets import spikes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def tiny_atomic():
    """An untrained 16x16 atomic autoencoder (k = 2, d0 = 3) and its codes of
    a few spike images."""
    model = zoo.atomic_autoencoder(k=2, d0=3, image_size=16)
    images, _ = spikes.make_spikes(40, seed=0, image_size=16, sigma=1.0, max_spikes=2)
    return model, model.encode(images)


def gif_frames(path):
    """Every frame of a GIF as an (H, W, 3) uint8 array."""
    with Image.open(path) as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
    return frames


def test_sweep_codes_move_one_axis_between_the_bounds():
    reference = np.array([0.5, -1.0, 2.0], np.float32)
    low, high = np.array([0.0, -2.0, 1.0]), np.array([1.0, 2.0, 3.0])
    codes, values = navigation.sweep_codes(reference, low, high, axes=[2, 0], steps=5)
    assert codes.shape == (2, 5, 3)
    np.testing.assert_allclose(values[0], np.linspace(1.0, 3.0, 5), rtol=1e-6)
    np.testing.assert_allclose(codes[0, :, 2], values[0])
    np.testing.assert_allclose(codes[1, :, 0], np.linspace(0.0, 1.0, 5), rtol=1e-6)
    # every other coordinate stays at the reference
    np.testing.assert_array_equal(codes[0, :, :2], np.tile(reference[:2], (5, 1)))
    np.testing.assert_array_equal(codes[1, :, 1:], np.tile(reference[1:], (5, 1)))


def test_block_axes_count_blocks_from_zero(tiny_atomic):
    model, _ = tiny_atomic
    assert navigation.block_axes(model, 0) == [0, 1, 2]
    assert navigation.block_axes(model, 1) == [3, 4, 5]
    with pytest.raises(ValueError, match="`block` must be an int in \\[0, 1\\]"):
        navigation.block_axes(model, 2)


def test_reference_code_index_or_mean():
    codes = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(navigation.reference_code(codes, 2), codes[2])
    np.testing.assert_allclose(navigation.reference_code(codes, "mean"), codes.mean(0))
    with pytest.raises(ValueError, match="`reference` must be one of"):
        navigation.reference_code(codes, "median")
    with pytest.raises(ValueError, match="`reference` must be an int in"):
        navigation.reference_code(codes, 4)


def test_gif_frames_show_the_decoded_codes(tiny_atomic, tmp_path):
    """Frame s of the GIF of coordinate j is the decoding of the code the .npz
    says it is, at the GIF's 8-bit precision."""
    model, codes = tiny_atomic
    steps = 6
    result = navigation.navigate(model, codes, tmp_path, name="tiny", block=1, steps=steps,
                                 quantile=0.0)
    assert [p.name for p in result["gifs"]] == [f"tiny_block1_coord{j}.gif" for j in range(3)]
    sweep = np.load(result["npz"])
    np.testing.assert_array_equal(sweep["axes"], [3, 4, 5])
    # the bounds are the training codes' min and max (quantile 0)
    np.testing.assert_allclose(sweep["low"], codes.min(0))
    np.testing.assert_allclose(sweep["high"], codes.max(0))
    np.testing.assert_allclose(sweep["values"][:, 0], codes.min(0)[3:])
    np.testing.assert_allclose(sweep["values"][:, -1], codes.max(0)[3:])
    scale, band = int(sweep["frame_scale"]), int(sweep["frame_band"])
    for j, gif in enumerate(result["gifs"]):
        frames = gif_frames(gif)
        assert len(frames) == steps
        # decode the recorded codes again with the model: the frames must show them
        decoded = model.decode(sweep["codes"][j])
        np.testing.assert_allclose(decoded, sweep["outputs"][j], atol=1e-6)
        expected = np.minimum(np.floor(np.clip(decoded[..., 0], 0, 1) * 256), 255)
        for s, frame in enumerate(frames):
            assert frame.shape == (band + 16 * scale, 16 * scale, 3)
            shown = frame[band + scale // 2::scale, scale // 2::scale, 0].astype(int)
            assert np.abs(shown - expected[s]).max() <= 1, (j, s)
        # frames differ from each other where the decoded images do
        if np.ptp(expected, axis=0).max() > 2:
            assert any(np.any(a != b) for a, b in zip(frames, frames[1:]))
    with Image.open(result["strips"][0]) as strip:
        assert strip.format == "PNG" and strip.size[0] > strip.size[1]


def test_atom_only_sweeps_one_atom(tiny_atomic, tmp_path):
    model, codes = tiny_atomic
    result = navigation.navigate(model, codes, tmp_path, block=0, steps=3, atom_only=True)
    sweep = result["sweep"]
    atoms = model.atoms_from_codes(sweep["codes"][1])
    np.testing.assert_allclose(sweep["outputs"][1], atoms[:, 0], atol=1e-5)


def test_default_block_is_the_brightest_atom(tiny_atomic, tmp_path):
    model, codes = tiny_atomic
    result = navigation.navigate(model, codes, tmp_path, reference=3, steps=2)
    atoms = model.atoms_from_codes(codes[3:4])
    assert result["block"] == int(np.argmax(atoms.max(axis=(2, 3, 4))[0]))


def test_every_axis_of_a_disk_like_autoencoder(tmp_path):
    """A 3-axis autoencoder without blocks: one GIF per axis, others at the mean."""
    model = zoo.disk_autoencoder(image_size=16, latent_dim=3, depths=(4, 4, 2))
    codes = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    result = navigation.navigate(model, codes, tmp_path, name="d", reference="mean", steps=4)
    assert [p.name for p in result["gifs"]] == ["d_axis0.gif", "d_axis1.gif", "d_axis2.gif"]
    sweep = result["sweep"]
    for j in range(3):
        others = np.delete(sweep["codes"][j], j, axis=1)
        np.testing.assert_allclose(others, np.tile(np.delete(codes.mean(0), j), (4, 1)),
                                   rtol=1e-6)
        with Image.open(result["gifs"][j]) as gif:
            assert gif.n_frames == 4
    # the bounds are the 1st and 99th percentiles by default
    np.testing.assert_allclose(sweep["values"][:, 0], np.quantile(codes, 0.01, axis=0),
                               rtol=1e-5)


def test_position_decoder_sweeps_a_signal(tmp_path):
    model = zoo.position_decoder(n=8, depths=(1, 2, 2))
    positions = np.linspace(0.0, 7.0, 30, dtype=np.float32)[:, None]
    result = navigation.navigate(model, positions, tmp_path, steps=5, quantile=0.0)
    sweep = result["sweep"]
    assert sweep["outputs"].shape == (1, 5, 8, 1)
    np.testing.assert_allclose(sweep["values"][0], np.linspace(0.0, 7.0, 5), rtol=1e-6)
    np.testing.assert_allclose(sweep["outputs"][0],
                               model.predict(sweep["codes"][0], verbose=0), atol=1e-6)
    with Image.open(result["gifs"][0]) as gif:
        assert gif.n_frames == 5


def test_navigate_rejects_bad_arguments(tiny_atomic, tmp_path):
    model, codes = tiny_atomic
    with pytest.raises(ValueError, match="`codes` must have 6 column"):
        navigation.navigate(model, codes[:, :3], tmp_path)
    with pytest.raises(ValueError, match="`axes` and `block` are exclusive"):
        navigation.navigate(model, codes, tmp_path, block=0, axes=[1])
    with pytest.raises(ValueError, match="`steps` must be an int >= 2"):
        navigation.navigate(model, codes, tmp_path, block=0, steps=1)
    with pytest.raises(TypeError, match="`model` must be an autoencoder"):
        navigation.navigate(zoo.position_encoder(n=8), codes, tmp_path)
    disk = zoo.disk_autoencoder(image_size=16, latent_dim=1, depths=(4, 4, 2))
    with pytest.raises(ValueError, match="`atom_only` needs an atomic autoencoder"):
        navigation.navigate(disk, codes[:, :1], tmp_path, atom_only=True)


def test_cli_navigate_refuses_unknown_entry_and_encoder(capsys):
    assert main(["navigate", "no_such_entry"]) == 2
    assert "unknown zoo entry" in capsys.readouterr().err


@pytest.mark.skipif(not Path(zoo.__file__).resolve().parents[2].joinpath(
    "saved_models", "position_decoder_1d", "1", "position_decoder_1d.weights.h5").is_file(),
    reason="the position_decoder_1d entry is not trained here")
def test_cli_navigate_entry(tmp_path, capsys):
    """`geomae navigate` on a trained entry: bounds from its recipe's training data."""
    out = tmp_path / "nav"
    assert main(["navigate", "position_decoder_1d", "--steps", "4", "--n-codes", "200",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    gif = out / "position_decoder_1d_axis0.gif"
    assert str(gif) in printed
    sweep = np.load(out / "position_decoder_1d_sweep.npz")
    # the training positions are U(0, 63): the 1st-99th percentiles lie inside
    assert 0.0 <= sweep["low"][0] < 2.0 and 61.0 < sweep["high"][0] <= 63.0
    with Image.open(gif) as image:
        assert image.n_frames == 4
    assert main(["navigate", "position_encoder_1d", "--out", str(out)]) == 2
    assert "has none to navigate" in capsys.readouterr().err


def test_notebook_runs_on_a_tiny_model(tmp_path, monkeypatch):
    """examples/navigate.ipynb, executed with a freshly built tiny model: its
    last cell moves the sliders and checks the picture follows."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipywidgets")
    monkeypatch.setenv("GEOMAE_NAVIGATE_TINY", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    notebook = nbformat.read(EXAMPLES / "navigate.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "sliders checked" in text
    assert not [o for o in outputs if o.get("output_type") == "error"]


def test_sweep_figure_has_one_row_per_coordinate(tiny_atomic):
    from matplotlib.figure import Figure

    model, codes = tiny_atomic
    low, high = codes.min(0), codes.max(0)
    result = navigation.sweep(model, codes[0], (low, high), axes=[3, 4, 5], steps=4,
                              atom_block=1)
    labels = [navigation.axis_label(model, a) for a in result["axes"]]
    assert labels[1] == "z[4] (block 1, coord 1)"
    fig = navigation.sweep_figure(result["outputs"], result["values"], labels, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 12
    assert [ax.get_title() for ax in fig.axes[4:8]] == [
        f"{v:+.2f}" for v in result["values"][1]]
    assert len(navigation.figure_png(fig)) > 1000
