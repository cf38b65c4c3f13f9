"""The zoo: trained entries load from a checkout and from a non-editable install."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from geomae_tf import zoo
from geomae_tf.datasets import disks

REPO = Path(__file__).resolve().parents[2]


def test_disk_ae_is_trained_and_reconstructs_fresh_disks():
    ae = zoo.disk_autoencoder(weights="disk_ae")
    images, factors = disks.make_disks(64, seed=99, radius_range=(1, 31),
                                       renderer="monte_carlo", n_samples=256)
    mse = float(np.mean((ae.reconstruct(images) - images) ** 2))
    assert mse < 1e-3
    z = ae.encode(images)[:, 0]
    # the code is monotone in the radius (JMIV 2020, Fig. 3: |Spearman| >= 0.999)
    assert abs(stats.spearmanr(z, factors["radius"]).statistic) >= 0.999
    loaded = zoo.load("disk_ae")
    np.testing.assert_allclose(loaded.encode(images), ae.encode(images), atol=1e-6)


def test_unknown_entries_and_weights_are_named():
    with pytest.raises(ValueError, match="`entry` must be one of the zoo's entries"):
        zoo.load("disk_vae")
    with pytest.raises(FileNotFoundError, match="`weights` file does not exist"):
        zoo.disk_autoencoder(weights="/nowhere/w.weights.h5")


@pytest.mark.slow
def test_non_editable_install_finds_the_trained_entry(tmp_path):
    """`pip install .` (not editable) carries the trained weights with the package."""
    prefix = tmp_path / "prefix"
    # --ignore-installed: without it pip uninstalls the editable install of the
    # environment running the tests before installing into the prefix.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--ignore-installed", "--prefix", str(prefix),
                    str(REPO)], check=True, cwd=tmp_path)
    site = next(prefix.glob("lib/python*/site-packages"))
    assert (prefix / "share/geomae_tf/saved_models/disk_ae/1/disk_ae.weights.h5").is_file()
    code = ("import json, numpy as np, geomae_tf; "
            "from geomae_tf.datasets import disks; "
            "ae = geomae_tf.zoo.load('disk_ae'); "
            "x = disks.render_disks(np.array([4.0, 20.0])).numpy(); "
            "print(json.dumps({'file': geomae_tf.__file__, 'z': ae.encode(x)[:, 0].tolist()}))")
    env = {k: v for k, v in os.environ.items() if k != "GEOMAE_SAVED_MODELS"}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["file"].startswith(str(site))
    expected = zoo.load("disk_ae").encode(disks.render_disks(np.array([4.0, 20.0])).numpy())
    np.testing.assert_allclose(result["z"], expected[:, 0], atol=1e-5)
