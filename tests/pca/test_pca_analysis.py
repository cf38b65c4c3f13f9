"""Attribute correlations, decorrelation and navigation of the PCA family."""

import numpy as np
import pytest

from geomae_tf.analysis import pca as analysis
from geomae_tf.datasets import ellipses
from geomae_tf.models.pca import pca_autoencoder


def test_attributes_of_known_ellipses():
    # a = 12 along the horizontal, b = 4: wide, horizontal/vertical ratio ~ 3.
    images = ellipses.render_ellipses([12.0, 4.0, 12.0], [4.0, 12.0, 4.0],
                                      [0.0, 0.0, 45.0]).numpy()
    attrs = analysis.image_attributes(images)
    np.testing.assert_allclose(attrs["area"], np.pi * 48.0, rtol=1e-2)
    assert attrs["hv_ratio"][0] == pytest.approx(3.0, rel=0.05)
    assert attrs["hv_ratio"][1] == pytest.approx(1 / 3.0, rel=0.05)
    # rotated 45 degrees counter-clockwise: long along the anti-diagonal
    # (up-right as displayed), so trace / anti-trace ~ 1/3, and hv ~ 1.
    assert attrs["diag_ratio"][2] == pytest.approx(1 / 3.0, rel=0.08)
    assert attrs["hv_ratio"][2] == pytest.approx(1.0, rel=0.02)
    assert attrs["diag_ratio"][0] == pytest.approx(1.0, rel=0.02)


def test_sanity_triplet_of_the_correlation_table():
    images, _ = ellipses.make_ellipses(300, seed=3, image_size=16,
                                       semi_axis_range=(1.0, 8.0))
    attrs = analysis.image_attributes(images)
    perfect = np.stack([attrs["area"], attrs["hv_ratio"], attrs["diag_ratio"]], axis=1)
    table = analysis.correlation_table(perfect, attrs)
    np.testing.assert_allclose(np.diag(table), 1.0, atol=1e-9)
    constant = np.zeros((300, 3))
    assert analysis.correlation_table(constant, attrs).max() == 0.0
    duplicated = np.stack([attrs["area"]] * 3, axis=1)
    lat = analysis.latent_correlations(duplicated)
    assert lat.min() == pytest.approx(1.0)
    assert not analysis.check_targets(analysis.correlation_table(duplicated, attrs), lat)["met"]


def test_check_targets_matches_the_ratio_axes_in_either_order():
    table = np.array([[0.99, 0.02, 0.03], [0.05, 0.01, 0.82], [0.04, 0.85, 0.02]])
    result = analysis.check_targets(table, np.eye(3) + 0.01 * (1 - np.eye(3)))
    assert result["assignment"] == ["area", "diag_ratio", "hv_ratio"]
    assert result["ratios"] == [0.85, 0.82] and result["met"]
    bad = analysis.check_targets(table, np.full((3, 3), 0.2))
    assert not bad["met"] and bad["worst_latent"] == pytest.approx(0.2)


def test_navigation_codes_sweep_one_axis_from_its_low_to_high_value():
    z = np.random.default_rng(0).normal(size=(500, 3))
    codes, values = analysis.navigation_codes(z, n_steps=5)
    assert codes.shape == (3, 5, 3)
    for i in range(3):
        np.testing.assert_allclose(codes[i, :, i], np.linspace(z[:, i].min(), z[:, i].max(), 5),
                                   rtol=1e-6)
        assert np.all(np.delete(codes[i], i, axis=1) == 0.0)


def test_evaluate_and_navigation_grid_on_an_untrained_model(tmp_path):
    model = pca_autoencoder(latent_dim=3, image_size=16)
    metrics = analysis.evaluate(model, n_test=40, renderer="exact")
    assert np.asarray(metrics["table"]).shape == (3, 3)
    assert len(metrics["mse_by_components"]) == 3
    assert set(metrics["targets"]) >= {"area", "ratios", "met"}
    # the zoo's claims read flat copies of the matched entries
    assert [metrics["ratio_axis_first"], metrics["ratio_axis_second"]] == \
        metrics["targets"]["ratios"]
    assert metrics["ratio_axis_first"] >= metrics["ratio_axis_second"]
    assert metrics["worst_off_diagonal"] == metrics["targets"]["worst_off_diagonal"]
    z = np.random.default_rng(1).normal(size=(50, 3))
    path, decoded = analysis.navigation_grid(model, z, tmp_path / "nav.png", n_steps=4)
    assert path.is_file() and decoded.shape == (3, 4, 16, 16, 1)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="method"):
        analysis.correlation_table(np.zeros((5, 2)), {"a": np.arange(5)}, method="kendall")
    with pytest.raises(ValueError, match="n_steps"):
        analysis.navigation_codes(np.zeros((5, 2)), n_steps=1)
    with pytest.raises(ValueError, match="images"):
        analysis.image_attributes(np.zeros((4, 16, 16)))


def test_multiple_correlation_ignores_the_orientation_in_the_elongation_plane():
    rng = np.random.default_rng(2)
    e = rng.normal(size=(400, 2))
    angle = np.deg2rad(30.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    z = e @ rotation.T                        # the plane, turned by 30 degrees
    assert analysis.correlation_table(z, {"e0": e[:, 0]})[0, 0] < 0.9
    assert analysis.multiple_correlation(z, e[:, 0]) == pytest.approx(1.0)


def test_log_ratio_axes_are_a_reference_not_a_ceiling():
    """log(a/b) along cos/sin(2 theta) codes the elongation in the h/v (diagonal)
    direction: it beats a mixed (turned by 45 degrees) axis, and its rank correlation
    with the ratio is near 1. Its Pearson |corr| stays below 1 because the ratios are
    heavy-tailed, and a stretched parametrisation of the SAME axis, exp(u) (same
    ranks), scores far higher: the table's Pearson entries have no ceiling under 1,
    they depend on the axis's shape."""
    images, factors = ellipses.make_ellipses(400, seed=5, image_size=32,
                                             semi_axis_range=(1.0, 16.0))
    attrs = analysis.image_attributes(images)
    ideal = analysis.ideal_axis_correlations(factors, attrs)
    for name in ("hv_ratio", "diag_ratio"):
        assert 0.6 < ideal[name] < 0.99
    e = np.log(factors["a"] / factors["b"])
    theta = np.deg2rad(factors["rotation"])
    u = e * np.cos(2 * theta)
    mixed = e * np.cos(2 * theta + np.pi / 4)   # half h/v, half diagonal
    hv = attrs["hv_ratio"]
    assert abs(np.corrcoef(mixed, hv)[0, 1]) < ideal["hv_ratio"] - 0.1
    ranks = analysis.correlation_table(np.column_stack([u, np.exp(u)]), {"hv": hv},
                                       method="spearman")[:, 0]
    assert ranks[0] > 0.95 and ranks[1] == pytest.approx(ranks[0])
    stretched = analysis.correlation_table(np.exp(u)[:, None], {"hv": hv})[0, 0]
    assert stretched > ideal["hv_ratio"] + 0.05
    with pytest.raises(ValueError, match="'rotation'"):
        analysis.ideal_axis_correlations({"a": factors["a"], "b": factors["b"]}, attrs)


def test_exact_codes_set_a_floor_on_the_other_entries():
    """A code of the exact area (pi a b) matches the area attribute, yet correlates
    with the ratios as much as the area attribute does: small ellipses are the
    elongated ones. The issue's 'every other entry at most 0.10' is thus below what a
    faithful area axis shows on these images; the elongation codes' other entries
    stay small. In ranks the area code is nearly independent of the ratios: the
    Pearson entry comes from the ratios' heavy tail."""
    images, factors = ellipses.make_ellipses(400, seed=5, image_size=32,
                                             semi_axis_range=(1.0, 16.0))
    attrs = analysis.image_attributes(images)
    ideal = analysis.ideal_code_table(factors, attrs)
    table = ideal["table"]
    assert table[0, 0] > 0.99
    area_vs_ratios = np.abs(np.corrcoef(attrs["area"], attrs["hv_ratio"])[0, 1])
    assert table[0, 1] == pytest.approx(area_vs_ratios, abs=0.03)
    assert ideal["worst_off_diagonal"] == pytest.approx(table[0, 1:].max())
    assert ideal["worst_off_diagonal"] > 0.10
    assert table[1:, :][~np.eye(3, dtype=bool)[1:, :]].max() < 0.10
    area_code = (np.pi * factors["a"] * factors["b"])[:, None]
    ranks = analysis.correlation_table(area_code, {k: attrs[k] for k in ("hv_ratio",
                                                                         "diag_ratio")},
                                       method="spearman")
    assert ranks.max() < table[0, 1:].max()
    assert analysis.ideal_axis_correlations(factors, attrs) == {
        "hv_ratio": pytest.approx(table[1, 1]), "diag_ratio": pytest.approx(table[2, 2])}
    with pytest.raises(ValueError, match="Missing"):
        analysis.ideal_code_table(factors, {"area": attrs["area"]})


def test_elongation_directions_find_the_orientation_an_axis_follows():
    """An axis coding the elongation along the ellipse orientation delta (the exact
    code log(a/b) cos 2(theta - delta)) is found at delta, with its distance to the
    nearest grid direction; an axis of the area alone has no elongation fit."""
    images, factors = ellipses.make_ellipses(300, seed=7, image_size=32,
                                             semi_axis_range=(1.0, 16.0))
    e = np.log(factors["a"] / factors["b"])
    theta = np.deg2rad(factors["rotation"])
    codes = [e * np.cos(2 * (theta - np.deg2rad(d))) for d in (0.0, 45.0, 10.0, -30.0)]
    codes.append(factors["a"] * factors["b"])
    found = analysis.elongation_directions(np.column_stack(codes), factors)
    for d, axis in zip((0.0, 45.0, 10.0, -30.0), found):
        assert axis["angle_deg"] == pytest.approx(d, abs=1e-6)
        assert axis["fit_corr"] == pytest.approx(1.0)
    assert [round(a["grid_offset_deg"], 6) for a in found[:4]] == [0.0, 0.0, 10.0, 15.0]
    assert found[4]["fit_corr"] < 0.2
    with pytest.raises(ValueError, match="'rotation'"):
        analysis.elongation_directions(np.column_stack(codes), {"a": factors["a"]})


def test_a_mirror_symmetric_sample_has_its_elongation_directions_on_the_grid():
    """Linear PCA of ellipses all turned by delta finds the elongation at delta (the
    convention of `elongation_directions`). On a random sample the elongation pair
    lies wherever the sample's noise puts it; adding every image's mirror makes the
    sample mirror-symmetric (no cross term between the h/v and the diagonal
    elongation), and the pair then lies on the h/v and diagonal directions (angles
    multiple of 45 degrees)."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(2, 12, 200), rng.uniform(2, 12, 200)
    for delta in (20.0, -30.0):
        x = ellipses.render_ellipses(a, b, np.full(200, delta % 90.0), 24, 0.5, 3).numpy()
        (found,) = analysis.sample_elongation_directions(x, 1)
        turn = (found["angle_deg"] - delta) % 90.0     # one axis: defined modulo 90
        assert min(turn, 90.0 - turn) < 0.5
    sample, _ = ellipses.make_ellipses(200, seed=11, image_size=24,
                                       semi_axis_range=(2.0, 12.0))
    offsets = [abs(d["angle_deg"]) % 45.0 for d in analysis.sample_elongation_directions(sample)]
    assert max(min(o, 45.0 - o) for o in offsets) > 0.5
    mirrored = np.concatenate([sample, sample[:, :, ::-1]])
    found = analysis.sample_elongation_directions(mirrored)
    for d in found:
        offset = abs(d["angle_deg"]) % 45.0
        assert min(offset, 45.0 - offset) < 1e-6
        assert d["quadrupole"] > 0.5
