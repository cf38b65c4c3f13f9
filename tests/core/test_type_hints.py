"""Every public function and method of the package carries type hints.

Public: defined in a module of `geomae_tf` whose path has no part starting
with "_", under a name without a leading underscore (and `__init__`). Its
parameters (other than self, cls, *args and **kwargs) and its return value
are annotated; the annotations are strings (`from __future__ import
annotations`), read here without being evaluated.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys

import pytest

import geomae_tf


def public_functions(prefix="geomae_tf."):
    """(module, qualified name, function) of every public function and method."""
    for info in pkgutil.walk_packages(geomae_tf.__path__, "geomae_tf."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if not info.name.startswith(prefix):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != info.name:
                continue
            if inspect.isfunction(obj):
                yield info.name, name, obj
            elif inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr != "__init__":
                        continue
                    fn = member.fget if isinstance(member, property) else getattr(
                        member, "__func__", member)
                    if inspect.isfunction(fn):
                        yield info.name, f"{name}.{attr}", fn


def unannotated(fn):
    """Names of the parameters (and "return") of `fn` that lack a hint."""
    signature = inspect.signature(fn)
    missing = [p.name for p in signature.parameters.values()
               if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if fn.__name__ != "__init__" and signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_the_walk_finds_the_public_api():
    names = {f"{module}.{name}" for module, name, _ in public_functions()}
    for expected in ("geomae_tf.zoo.load",
                     "geomae_tf.layers.atomic_decoder.AtomicDecoder.call",
                     "geomae_tf.models.atomic.atomic_autoencoder.atomic_autoencoder"):
        assert expected in names
    assert len(names) > 300


def test_every_public_function_has_type_hints():
    gaps = [f"{module}.{name}: {', '.join(missing)}"
            for module, name, fn in public_functions() if (missing := unannotated(fn))]
    assert not gaps, f"{len(gaps)} public functions lack type hints:\n" + "\n".join(gaps)


if __name__ == "__main__":  # python tests/core/test_type_hints.py [module prefix]
    prefix = sys.argv[1] if len(sys.argv) > 1 else "geomae_tf."
    for module, name, fn in public_functions(prefix):
        if missing := unannotated(fn):
            print(f"{module}.{name}: {', '.join(missing)}")
