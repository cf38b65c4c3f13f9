"""The claims of a zoo entry (its presets' `checks`) held against measured metrics.

Each claim quotes its source: the paper's statement with its section, or "zoo
target" for a property or threshold the zoo sets itself.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from geomae_tf import zoo

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}


def check_claims(entry: str, metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The entry's claims (presets `checks`) against `metrics`.

    Returns:
        list of dict: `metric`, `claim` (its text), `source`, `measured`,
        `holds`, and `restated` (the presets' restatement of a claim the
        evidence shows to be ill-posed, or None).
    """
    out = []
    restated = zoo.ENTRIES[entry].get("restated", {})
    for metric, op, threshold, source in zoo.ENTRIES[entry].get("checks", ()):
        value = metrics.get(metric)
        passed = value is not None and _OPS[op](value, threshold)
        out.append({"metric": metric, "claim": f"{metric} {op} {threshold:g}",
                    "source": source, "measured": value, "holds": bool(passed),
                    "restated": restated.get(metric)})
    return out
