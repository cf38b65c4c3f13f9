"""Property-based test of the command line: recipes mutated from the zoo's own
(values of every type and range, keys removed or unknown, tables replaced) given
to `geomae train RECIPE --check`, which checks everything a run checks before it
trains (the recipe, the model it builds, the first batch of its data) and
trains nothing. Every one exits 0, or 2 with one line naming what is wrong:
never a traceback. Beside the fuzzing of the arrays (test_fuzz.py)."""

import json
import math
import tomllib
from pathlib import Path

import keras
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geomae_tf import cli

REPO = Path(__file__).resolve().parents[2]
ZOO = {path.stem: tomllib.loads(path.read_text()) for path in sorted(REPO.glob("zoo/*.toml"))}
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# Values small enough that a recipe which passes its checks reads its first batch
# in a moment, and edge cases of every type TOML has.
VALUES = st.one_of(
    st.sampled_from([-1, 0, 1, 2, 3, 5, 16, 33, 64]),
    st.sampled_from([-1.0, 0.0, 1e-9, 0.5, 1.0, 2.5, 31.5, math.nan, math.inf, -math.inf]),
    st.floats(-5, 40, allow_nan=False),
    st.booleans(),
    st.sampled_from(["", "false", "fixed", "stream", "mse", "bce", "cosine", "float32",
                     "images", "disks", "mnist", "tfds:nonexistent", "none", "../x",
                     "disk_ae", "no_such_entry", "x.weights.h5"]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=6),  # TOML: no surrogates
    st.lists(st.sampled_from([-1, 0, 1.5, 11.0, 18.0, 31.0, "a"]), max_size=3),
    st.fixed_dictionaries({}, optional={"rounds": st.sampled_from([0, 1, "1"]),
                                        "x": st.just(1)}),
)


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):  # a TOML basic string: characters as they are, controls escaped
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(recipe):
    """A recipe dict as TOML text: scalars first, then one table per section."""
    lines = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in recipe.items()
             if not isinstance(v, dict)]
    for section, table in recipe.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(section)}]")
            lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


@st.composite
def mutated_recipes(draw):
    entry = draw(st.sampled_from(sorted(ZOO)))
    recipe = json.loads(json.dumps(ZOO[entry]))  # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        sections = [k for k, v in recipe.items() if isinstance(v, dict)]
        kind = draw(st.sampled_from(["value", "value", "value", "drop", "new key",
                                     "table", "top"]))
        if kind == "top" or not sections:
            key = draw(st.sampled_from(["entry", "factory", "description", "model", "colour"]))
            recipe[key] = draw(VALUES)
            continue
        section = draw(st.sampled_from(sections))
        table = recipe[section]
        if kind == "table":
            recipe[section] = draw(VALUES)
        elif kind == "new key" or not table:
            table[draw(st.sampled_from(["n_test", "seed", "sigma", "colour", "lam",
                                        "steps_per_epoch", "init", "family", "version",
                                        "refine", "max_trials"]))] = draw(VALUES)
        elif kind == "drop":
            del table[draw(st.sampled_from(sorted(table)))]
        else:
            table[draw(st.sampled_from(sorted(table)))] = draw(VALUES)
    return recipe


@pytest.mark.parametrize("entry", sorted(ZOO))
def test_every_zoo_recipe_passes_the_check(entry, capsys):
    assert cli.main(["train", str(REPO / "zoo" / f"{entry}.toml"), "--check"]) == 0
    out = capsys.readouterr().out
    assert f"checked: entry {entry}" in out and "nothing trained or written" in out


@FUZZ
@given(recipe=mutated_recipes())
def test_mutated_recipes_exit_0_or_2_with_one_line_never_a_traceback(recipe, tmp_path,
                                                                      capsys):
    path = tmp_path / "recipe.toml"
    path.write_text(to_toml(recipe))
    keras.backend.clear_session()
    capsys.readouterr()
    code = cli.main(["train", str(path), "--check", "--out-dir", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    assert code in (0, 2), (code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("geomae train: error: "), err
        assert len(lines[0]) < 600, err  # one readable line, not a catalogue
    else:
        assert "nothing trained or written" in out
    assert not (tmp_path / "runs").exists()  # --check writes nothing
