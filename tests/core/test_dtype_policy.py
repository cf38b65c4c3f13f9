"""The dtype policy "auto": bfloat16 compute only where bfloat16 units exist."""

import pytest

from geomae_tf.training.recipe import RecipeError, load_recipe
from geomae_tf.training.trainer import (build_model, cpu_bfloat16_flags, resolve_dtype_policy,
                                        train)
from tests.core.recipes import write_tiny

#: /proc/cpuinfo of a two-core x86 CPU, its flags line filled in per test.
CPUINFO = """processor\t: {i}
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum
flags\t\t: fpu vme de pse tsc msr sse sse2 avx avx2 fma avx512f avx512bw{extra}
bugs\t\t: spectre_v1

"""


def cpuinfo(extra=""):
    return "".join(CPUINFO.format(i=i, extra=extra) for i in range(2))


@pytest.mark.parametrize("extra, flags", [
    ("", []),
    (" avx512_bf16", ["avx512_bf16"]),
    (" amx_tile amx_bf16 amx_int8", ["amx_bf16"]),
    (" avx512_bf16 amx_bf16", ["avx512_bf16", "amx_bf16"]),
])
def test_bfloat16_units_are_read_from_the_flags(extra, flags):
    text = cpuinfo(extra)
    assert cpu_bfloat16_flags(text) == flags
    expected = "mixed_bfloat16" if flags else "float32"
    assert resolve_dtype_policy("auto", cpuinfo=text, gpu=False) == expected


def test_a_gpu_gets_bfloat16_and_other_words_do_not_count():
    assert resolve_dtype_policy("auto", cpuinfo=cpuinfo(), gpu=True) == "mixed_bfloat16"
    # the flag's name elsewhere than in the flags line is no bfloat16 unit
    assert cpu_bfloat16_flags("model name\t: avx512_bf16 lookalike\nflags\t: fpu\n") == []
    assert resolve_dtype_policy("auto", cpuinfo="", gpu=False) == "float32"


@pytest.mark.parametrize("name", ["float32", "mixed_bfloat16"])
def test_an_explicit_policy_is_kept_whatever_the_machine(name):
    for text, gpu in [(cpuinfo(), False), (cpuinfo(" avx512_bf16"), True)]:
        assert resolve_dtype_policy(name, cpuinfo=text, gpu=gpu) == name


def test_auto_recipe_trains_under_the_policy_it_resolves_to(tmp_path):
    path = write_tiny(tmp_path / "auto.toml", epochs=1)
    path.write_text(path.read_text().replace("seed = 0", "seed = 0\ndtype_policy = \"auto\""))
    recipe = load_recipe(path)
    assert recipe.training["dtype_policy"] == "auto"
    here = resolve_dtype_policy("auto")
    assert here in ("float32", "mixed_bfloat16")
    compute = {"float32": "float32", "mixed_bfloat16": "bfloat16"}[here]
    built = build_model(recipe, "auto")
    assert {layer.compute_dtype for layer in built.layers if layer.weights} == {compute}
    assert {w.dtype for w in built.weights} == {"float32"}
    model, results = train(path, out_dir=tmp_path / "runs", export=False,
                           evaluate=False, verbose=0)
    assert results["dtype_policy"] == here  # what "auto" resolved to, not "auto"
    assert model.dtype_policy.name == "float32"  # evaluated and exported in float32


def test_a_bad_policy_is_refused_naming_the_key(tmp_path):
    text = write_tiny(tmp_path / "r.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("seed = 0", "seed = 0\ndtype_policy = \"bfloat16\""))
    with pytest.raises(RecipeError, match=r"`training.dtype_policy` must be one of \['auto', "
                                          r"'float32', 'mixed_bfloat16'\]. Received: "
                                          r"training.dtype_policy='bfloat16'"):
        load_recipe(bad)
