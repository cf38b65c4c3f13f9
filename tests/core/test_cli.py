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
