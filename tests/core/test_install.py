"""Where the zoo is found, and what an install carries: a wheel (and a wheel
built from the sdist) holds every published entry at every version,
SavedModels and recipes included, and an install of it serves each entry's
latest version with the checkout's weights.

The package is built from a copy of the checkout (the working tree is shared
and stays free of build folders), installed into a fresh venv outside it,
and loaded there from a process whose working folder is outside the
checkout. The fresh venv reuses this environment's dependencies (TensorFlow
and the rest) through a `.pth` file naming this environment's site-packages:
Python appends such paths to `sys.path` without running the `.pth` files
inside them, so this environment's editable install of the package is not
seen there.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

from geomae_tf import zoo

REPO = Path(__file__).resolve().parents[2]
#: Top-level folders of a checkout that a build never reads (outputs, caches).
NOT_SOURCES = {"build", "dist", "runs", "demo_output", "reports", "figures", "logs", "site"}


def published(entry):
    """The version folders of `entry` in the checkout (those holding its weights)."""
    folder = REPO / "saved_models" / entry
    return sorted(int(p.name) for p in folder.glob("*")
                  if p.name.isdigit() and (p / f"{entry}.weights.h5").is_file())


def _copy_sources(target):
    hidden = shutil.ignore_patterns(".*", "__pycache__", "*.pyc", "*.egg-info")
    for item in REPO.iterdir():
        if item.name.startswith(".") or item.name in NOT_SOURCES or item.name.endswith(
                ".egg-info"):
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, ignore=hidden)
        else:
            shutil.copy2(item, target / item.name)


def _run(args, cwd, env=None):
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sdist, the wheel built from the checkout and the wheel built from the sdist."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    _copy_sources(source)
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
             "--no-build-isolation", "--no-index", "--disable-pip-version-check", "-w"]
    _run(build + [work / "wheel", source], cwd=work)
    _run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
          "build_meta.build_sdist(sys.argv[1])", work / "sdist"], cwd=source)
    sdist = next((work / "sdist").glob("*.tar.gz"))
    _run(build + [work / "wheel_from_sdist", sdist], cwd=work)
    return {"work": work, "sdist": sdist, "wheel": next((work / "wheel").glob("*.whl")),
            "wheel_from_sdist": next((work / "wheel_from_sdist").glob("*.whl"))}


def _data_files(wheel):
    """`{path under <prefix>: bytes}` of a wheel's data files."""
    with zipfile.ZipFile(wheel) as archive:
        return {name.split(".data/data/", 1)[1]: archive.read(name)
                for name in archive.namelist() if ".data/data/" in name}


def test_lookup_order_environment_then_checkout_then_install(tmp_path, monkeypatch):
    """`$GEOMAE_SAVED_MODELS` first, then the checkout, then the install's share folder;
    recipes from the checkout's zoo/ first."""
    root = tmp_path / "mine"
    source = REPO / "saved_models" / "disk_ae" / str(max(published("disk_ae")))
    shutil.copytree(source, root / "disk_ae" / "99", ignore=shutil.ignore_patterns(".*"))
    monkeypatch.setenv("GEOMAE_SAVED_MODELS", str(root))
    roots = zoo.weights.search_roots()
    assert roots[:2] == [root, REPO / "saved_models"]
    assert roots[2:] == [r / "saved_models" for r in zoo.weights.installed_roots()]
    assert zoo.weights.entry_dir("disk_ae") == root / "disk_ae" / "99"
    assert zoo.weights.entry_dir("disk_ae", version=1) == REPO / "saved_models" / "disk_ae" / "1"
    assert zoo.entry_versions("disk_ae")[root] == [99]
    assert zoo.weights.recipe_path("disk_ae") == REPO / "zoo" / "disk_ae.toml"
    monkeypatch.delenv("GEOMAE_SAVED_MODELS")
    assert zoo.weights.entry_dir("disk_ae").parent == REPO / "saved_models" / "disk_ae"


# Each test below builds or installs the package (together about a minute on 2 shared cores).
@pytest.mark.slow
def test_the_wheel_carries_every_version_savedmodels_and_recipes(built):
    files = _data_files(built["wheel"])
    for entry in zoo.ENTRIES:
        versions = published(entry)
        assert versions, f"the checkout has no published version of {entry!r}"
        for version in versions:
            folder = REPO / "saved_models" / entry / str(version)
            expected = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                              if p.is_file() and not p.name.startswith("."))
            prefix = f"share/geomae_tf/saved_models/{entry}/{version}/"
            shipped = sorted(name[len(prefix):] for name in files if name.startswith(prefix))
            assert shipped == expected, (entry, version)
            assert "saved_model.pb" in shipped and f"{entry}.json" in shipped
            assert files[prefix + f"{entry}.weights.h5"] == (
                folder / f"{entry}.weights.h5").read_bytes()
        recipe = Path(zoo.ENTRIES[entry]["recipe"]).name
        assert files[f"share/geomae_tf/zoo/{recipe}"] == (REPO / "zoo" / recipe).read_bytes()
    assert not any("/." in name or name.endswith("models.config") for name in files)


@pytest.mark.slow
def test_the_wheel_built_from_the_sdist_carries_the_same_files(built):
    assert _data_files(built["wheel_from_sdist"]) == _data_files(built["wheel"])


LOAD_EVERY_ENTRY = """
import json, sys
import numpy as np
import geomae_tf
from geomae_tf import zoo
from geomae_tf.zoo import weights

found = {"file": geomae_tf.__file__, "entries": {}}
arrays = {}
for entry in zoo.ENTRIES:
    folder = weights.entry_dir(entry)
    model = zoo.load(entry)
    for i, w in enumerate(model.get_weights()):
        arrays[f"{entry}/{i}"] = w
    found["entries"][entry] = {"version": int(folder.name), "folder": str(folder),
                               "recipe": str(weights.recipe_path(entry)),
                               "n_weights": len(model.get_weights())}
np.savez(sys.argv[1], **arrays)
print(json.dumps(found))
"""


@pytest.mark.slow
def test_a_wheel_install_loads_every_entrys_latest_version(built, monkeypatch):
    work = built["work"]
    fresh = work / "fresh"
    _run([sys.executable, "-m", "venv", "--without-pip", fresh], cwd=work)
    fresh_python = fresh / "bin" / "python"
    fresh_site = Path(_run([fresh_python, "-c", "import sysconfig; "
                            "print(sysconfig.get_paths()['purelib'])"], cwd=work).strip())
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (fresh_site / "dependencies_of_the_test_env.pth").write_text("\n".join(ours) + "\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("GEOMAE_SAVED_MODELS", "PYTHONPATH", "PYTHONHOME")}
    env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    # --ignore-installed: the environment's editable install is visible through the
    # .pth; without it pip would try to replace that install.
    _run([fresh_python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
          "--ignore-installed", "--disable-pip-version-check", built["wheel"]],
         cwd=work, env=env)
    outside = work / "elsewhere"
    outside.mkdir()
    script = outside / "load_every_entry.py"
    script.write_text(LOAD_EVERY_ENTRY)
    out = _run([fresh_python, script, outside / "weights.npz"], cwd=outside, env=env)
    found = json.loads(out.strip().splitlines()[-1])
    installed = fresh / "share" / "geomae_tf"
    assert Path(found["file"]).resolve().is_relative_to(fresh_site.resolve()), found["file"]
    assert not Path(found["file"]).resolve().is_relative_to(REPO)
    loaded = np.load(outside / "weights.npz")
    monkeypatch.delenv("GEOMAE_SAVED_MODELS", raising=False)
    for entry in zoo.ENTRIES:
        got = found["entries"][entry]
        latest = max(published(entry))
        assert got["version"] == latest, (entry, got)
        folder = Path(got["folder"])
        assert folder.resolve() == (installed / "saved_models" / entry / str(latest)).resolve()
        assert (folder / "saved_model.pb").is_file() and (folder / "variables").is_dir()
        assert Path(got["recipe"]).resolve() == (
            installed / "zoo" / Path(zoo.ENTRIES[entry]["recipe"]).name).resolve()
        assert zoo.weights.entry_dir(entry) == REPO / "saved_models" / entry / str(latest)
        expected = zoo.load(entry).get_weights()
        assert got["n_weights"] == len(expected)
        for i, w in enumerate(expected):
            np.testing.assert_array_equal(loaded[f"{entry}/{i}"], w, err_msg=f"{entry}/{i}")
