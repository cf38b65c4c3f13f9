"""The `geomae` command line: bad input exits with code 2 and a clear message."""

import subprocess
import sys
from pathlib import Path

import pytest

from geomae_tf import cli
from tests.core.recipes import write_tiny

REPO = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, "-m", "geomae_tf", *args], capture_output=True,
                          text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin"})


def test_unknown_subcommand_and_option_exit_2():
    result = run("trian")
    assert result.returncode == 2 and "invalid choice: 'trian'" in result.stderr
    result = run("train", "zoo/disk_ae.toml", "--epochs", "zero")
    assert result.returncode == 2 and "--epochs" in result.stderr


def test_unknown_entry_exits_2(capsys):
    assert cli.main(["evaluate", "disk_autoencoder_v9"]) == 2
    err = capsys.readouterr().err
    assert "unknown zoo entry 'disk_autoencoder_v9'" in err and "disk_ae" in err


def test_an_entry_with_a_recipe_but_no_weights_says_how_to_train_it(tmp_path, monkeypatch,
                                                                      capsys):
    (tmp_path / "zoo").mkdir()
    (tmp_path / "zoo" / "my_entry.toml").write_text("entry = 'my_entry'\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["figures", "my_entry"]) == 2
    err = capsys.readouterr().err
    assert "no published weights" in err and "geomae train zoo/my_entry.toml --publish" in err


def test_bad_recipe_exits_2(tmp_path, capsys):
    bad = write_tiny(tmp_path / "r.toml", extra="\n[training2]\nepochs = 1\n")
    assert cli.main(["train", str(bad)]) == 2
    assert "unknown key(s) ['training2'] in [top level]" in capsys.readouterr().err
    assert cli.main(["train", str(tmp_path / "none.toml")]) == 2


def test_negative_epochs_exit_2(tmp_path):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "zoo/disk_ae.toml", "--epochs", "0"])
    assert stop.value.code == 2


# -- every option is checked before any work ------------------------------------------

@pytest.mark.parametrize("argv, match", [
    (["tune", "zoo/disk_ae_hole.toml", "--max-trials", "0"], "--max-trials: must be >= 1, not 0"),
    (["tune", "zoo/disk_ae_hole.toml", "--worker-timeout", "nan"], "--worker-timeout: must be > 0"),
    (["tune", "zoo/disk_ae_hole.toml", "--connect-timeout", "-1"], "--connect-timeout"),
    (["train", "zoo/disk_ae.toml", "--devices", "0"], "--devices: must be >= 1, not 0"),
    (["train", "zoo/disk_ae.toml", "--process-id", "-1"], "--process-id: must be >= 0"),
    (["train", "zoo/disk_ae.toml", "--publish", "--version", "0"], "--version: must be >= 1"),
    (["export", "disk_ae", "--version", "-2"], "--version: must be >= 1"),
    (["navigate", "disk_ae", "--quantile", "0.5"], "--quantile: must be >= 0 and < 0.5"),
    (["navigate", "disk_ae", "--steps", "1"], "--steps: must be >= 2"),
    (["navigate", "disk_ae", "--fps", "inf"], "--fps: must be > 0"),
])
def test_every_cli_number_is_checked_when_the_command_line_is_parsed(argv, match, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    assert match in capsys.readouterr().err


def _edited_tiny(tmp_path, extra):
    """The tiny recipe with `extra`: a "[section]\\nkey = value" line replaces the
    key in that table of the recipe (or joins it); anything else is added."""
    lines = write_tiny(tmp_path / "r.toml").read_text().splitlines()
    header, _, assignment = extra.strip().partition("\n")
    if header not in lines:
        return extra + "\n".join(lines) if not extra.startswith("[") else \
            "\n".join(lines) + "\n" + extra
    start = lines.index(header) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    key = assignment.split("=")[0].strip()
    same = [i for i in range(start, end) if lines[i].split("=")[0].strip() == key]
    if same:
        lines[same[0]] = assignment
    else:
        lines.insert(start, assignment)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("extra, match", [
    # [model], [data], [evaluation] values: checked against what they are passed to
    ('[model]\nuse_bias = "false"\n', r"`model.use_bias` must be true or false. "
                                      r"Received: use_bias='false'"),
    ("[model]\nlatent_dim = 0\n", r"`model.latent_dim` must be an int >= 1"),
    ("[data]\nsigma = nan\n", r"`data.sigma` must be finite"),
    ('[data]\nn_train = "60"\n', r"`data.n_train` must be an int"),
    ("[evaluation]\nn_test = 0\n", r"`evaluation.n_test` must be an int >= 1"),
    ('[evaluation]\nseed = "x"\n', r"`evaluation.seed` must be an int"),
    ("[evaluation]\nn_tests = 40\n", r"unknown key\(s\) \['n_tests'\] in \[evaluation\]"),
    ('[evaluation]\nfamily = "disks"\n', r"\[evaluation\] family must be one of"),
    # [tune]
    ("[tune]\nmax_trials = 0\n", r"`tune.max_trials` must be an int >= 1"),
    ('[tune]\nn_lambdas = "five"\n', r"`tune.n_lambdas` must be an int"),
    ("[tune]\nlambdas = []\n", r"`tune.lambdas` must be a non-empty list"),
    ("[tune]\nhole = [18.0, 11.0]\n", r"`tune.hole` must be a \[low, high\] pair with low < high"),
    ("[tune]\ninclude_zero = 1\n", r"`tune.include_zero` must be true or false"),
    ("[tune]\nlambda = 3\n", r"unknown key\(s\) \['lambda'\] in \[tune\]"),
    ("tune = 3\n", r"\[tune\] must be a table"),
])
def test_recipe_values_are_checked_when_it_loads_naming_file_section_and_key(
        tmp_path, extra, match):
    from geomae_tf.training.recipe import RecipeError, load_recipe

    (tmp_path / "r.toml").write_text(_edited_tiny(tmp_path, extra))
    with pytest.raises(RecipeError, match=match) as refused:
        load_recipe(tmp_path / "r.toml")
    assert str(refused.value).startswith(f"{tmp_path / 'r.toml'}: ")


def test_a_bad_recipe_value_exits_2_in_one_line_before_the_run_folder_exists(tmp_path, capsys):
    recipe = write_tiny(tmp_path / "r.toml")
    recipe.write_text(recipe.read_text().replace("[model]\n", '[model]\nuse_bias = "false"\n'))
    assert cli.main(["train", str(recipe), "--out-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "use_bias" in err
    assert not (tmp_path / "runs").exists()


def test_a_run_folder_under_a_file_exits_2_in_one_line(tmp_path, capsys):
    recipe = write_tiny(tmp_path / "r.toml")
    (tmp_path / "runs").write_text("a file")
    assert cli.main(["train", str(recipe), "--out-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file" in err and "--out-dir" in err
