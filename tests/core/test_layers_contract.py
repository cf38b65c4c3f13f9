"""The package's layers, as `.importlinter` states them: dependencies point down
(cli -> training -> analysis | export -> zoo -> models -> layers | datasets |
metrics) and no two modules of one package import each other in a circle.

`lint-imports` (import-linter, the `test` extra) reads every import of the
package, function-local and type-only ones included.
"""

import configparser
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import geomae_tf

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / ".importlinter"

pytest.importorskip("importlinter")


def lint_imports(config=CONFIG):
    """`lint-imports` on `config` from the repository's root: (exit status, output)."""
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.is_file() else [sys.executable, "-c",
                                                      "from importlinter.cli import "
                                                      "lint_imports_command as c; c()"]
    result = subprocess.run([*command, "--config", str(config), "--no-cache"], cwd=REPO,
                            capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def layers_of(config):
    """The modules named in the `layers` contract of `config`."""
    parser = configparser.ConfigParser()
    parser.read(config)
    lines = parser["importlinter:contract:layers"]["layers"].split("\n")
    return {name.strip() for line in lines for name in line.split("|") if name.strip()}


def test_the_package_keeps_its_layers_and_has_no_import_circles():
    status, output = lint_imports()
    assert status == 0, output[-4000:]
    assert "Contracts: 2 kept, 0 broken." in output, output[-4000:]


def test_every_subpackage_and_module_of_the_package_has_a_layer():
    # a new top-level module outside the layers would escape these rules
    names = {f"geomae_tf.{info.name}" for info in pkgutil.iter_modules(geomae_tf.__path__)}
    assert names == layers_of(CONFIG)


def test_the_check_sees_the_imports(tmp_path):
    # the same contract with models and layers swapped must break: the models import
    # the layers they are made of
    text = CONFIG.read_text()
    swapped = text.replace("    geomae_tf.models\n    geomae_tf.layers |",
                           "    geomae_tf.layers\n    geomae_tf.models |")
    assert swapped != text
    config = tmp_path / ".importlinter"
    config.write_text(swapped)
    status, output = lint_imports(config)
    assert status != 0
    assert "geomae_tf.models is not allowed to import geomae_tf.layers" in output, output[-4000:]


def test_nothing_below_the_training_package_is_excused():
    # the models' `weights=` takes a path (the zoo resolves entry names above them)
    # and the refinement names the atomic model through a Protocol of its own: no ignored tie
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    ignored = [line.split("->")[0].strip() for section in parser.sections()
               for line in parser[section].get("ignore_imports", "").splitlines()
               if "->" in line]
    assert all(name.startswith("geomae_tf.training.") for name in ignored), ignored
