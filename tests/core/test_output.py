"""What the package shows: CLI help and version, quiet logs, the report's tables,
and figures that leave matplotlib's backend alone and name the zoo entry."""

import argparse
import inspect
import json
import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import geomae_tf
from geomae_tf import cli, logs
from geomae_tf.analysis import disk, pca, plotting, report

REPO = Path(__file__).resolve().parents[2]


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"geomae {geomae_tf.__version__}"


def _subparsers():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


@pytest.mark.parametrize("command", sorted(_subparsers()))
def test_every_option_has_help_with_its_default(command):
    sub = _subparsers()[command]
    text = sub.format_help()
    for action in sub._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"geomae {command} {action.dest}: no help text"
        if action.option_strings and action.default not in (None, False):
            # shown either in the help's own words or as "(default: ...)"
            assert "default" in action.help or f"(default: {action.default})" in " ".join(
                text.split()), f"geomae {command} {action.option_strings[0]}: no default shown"


def test_filtered_stderr_drops_tensorflow_notes_and_keeps_warnings(capfd):
    with logs.filtered_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called "
                    b"are written to STDERR\n")
        os.write(2, b"I0000 00:00:17.1 8446 cudart_stub.cc:31] Could not find cuda drivers "
                    b"on your machine, GPU will not be used.\n")
        os.write(2, b"UserWarning: a real warning\n")
    err = capfd.readouterr().err
    assert err == "UserWarning: a real warning\n"


def test_retracing_notes_are_dropped_and_other_warnings_kept():
    import logging

    def record(message):
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, message, None, None)

    assert not logs._drop_retracing_notes(record(
        "5 out of the last 5 calls to <function f> triggered tf.function retracing."))
    assert logs._drop_retracing_notes(record("Layer 'dense' was never built"))


def test_figures_leave_the_backend_alone_and_are_bare_figures():
    import matplotlib.pyplot as plt

    backend, open_before = matplotlib.get_backend(), plt.get_fignums()
    fig, axes = plotting.pyplot().subplots(1, 2, figsize=(4, 2), sharey=True)
    assert isinstance(fig, Figure) and len(axes) == 2
    assert matplotlib.get_backend() == backend      # a notebook's inline backend survives
    assert plt.get_fignums() == open_before         # nothing registered with pyplot


def test_saved_figure_is_a_png(tmp_path):
    fig, ax = plotting.pyplot().subplots()
    ax.plot([0, 1], [1, 0])
    path = plotting.save_figure(fig, tmp_path / "a" / "line.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_code_vs_radius_names_the_entry_and_shades_the_hole():
    model = geomae_tf.zoo.disk_autoencoder()
    fig = disk.code_vs_radius_figure(model, name="disk_ae_hole", n=40,
                                     unseen_radii=[(11.0, 18.0)])
    ax = fig.axes[0]
    assert ax.get_title().startswith("disk_ae_hole:")
    spans = [p for p in ax.patches if p.get_label() == "radii never seen in training"]
    assert len(spans) == 1
    span = spans[0]   # a Rectangle in data x (and axes y) coordinates
    assert (span.get_x(), span.get_x() + span.get_width()) == (11.0, 18.0)
    assert "40 fresh disks (seed 9)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_pca_table_figure_uses_the_evaluations_samples_and_numbers():
    # the figure's defaults are evaluate's: the table it draws is the one printed
    figure_args = inspect.signature(pca.figures).parameters
    evaluate_args = inspect.signature(pca.evaluate).parameters
    assert figure_args["n_test"].default == evaluate_args["n_test"].default
    assert figure_args["eval_seed"].default == evaluate_args["seed"].default
    assert figure_args["renderer"].default == evaluate_args["renderer"].default
    table = np.array([[0.98412, 0.14, 0.115], [0.017, 0.139, 0.5614], [0.005, 0.6747, 0.1675]])
    fig = pca.correlation_table_figure({"pca_ae_ellipses": table}, samples="1000 fresh ellipses")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == [f"{v:.2f}" for v in table.ravel()]
    assert "1000 fresh ellipses" in fig._suptitle.get_text()
    assert fig.axes[0].get_title() == "pca_ae_ellipses"


def test_markdown_table_shows_metrics_of_an_entry_without_claims():
    metrics = {"mse": 0.00666, "psnr": 21.76680, "active_atoms": 4.12, "n_test": 300}
    row = {"entry": "atomic_strokes", "paper": "Newson and Traonmilin 2023, section 3",
           "metrics": metrics, "claims": [], "train_seconds": 3329.4, "parameters": 36103}
    line = report.markdown_table([row]).splitlines()[-1]
    assert "None" not in line and "psnr = 21.7668" in line and "no claim checked" in line


def test_train_summary_is_readable():
    results = json.loads((REPO / "zoo" / "disk_ae_hole.results.json").read_text())
    text = cli._train_summary(results)
    assert text.splitlines()[0] == "disk_ae_hole: trained 60 epoch(s) in 3.9 min, final loss 0.0005133"
    assert "claim mse_hole > 0.002: holds" in text and "{" not in text
