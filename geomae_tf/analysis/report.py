"""Evaluation of zoo entries side by side: the table `geomae evaluate` and
`geomae demo` print, as JSON and markdown, with the paper's claims beside
the measured numbers."""

from __future__ import annotations

import json
import operator
from pathlib import Path

from geomae_tf import analysis, atomic, zoo
from geomae_tf.analysis import disentanglement

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
QUICK_N_TEST = 300


def check_claims(entry, metrics):
    """[(text, measured, passed)] for the entry's claims (presets `checks`)."""
    out = []
    for metric, op, threshold, source in zoo.ENTRIES[entry].get("checks", ()):
        value = metrics.get(metric)
        passed = value is not None and _OPS[op](value, threshold)
        out.append({"metric": metric, "claim": f"{metric} {op} {threshold:g}",
                    "source": source, "measured": value, "holds": bool(passed)})
    return out


def evaluate_entries(entries, quick=False):
    """Loads each trained entry, measures it on fresh data; returns rows."""
    rows = []
    for entry in entries:
        spec = zoo.ENTRIES[entry]
        model = zoo.load(entry)
        evaluate = analysis.resolve(analysis.EVALUATORS, spec["family"])
        recorded = zoo.entry_config(entry).get("results", {})
        kwargs = dict(recorded.get("evaluation", {}))
        if quick:
            # an entry whose claims need more samples (a correlation bound of 0.05 is
            # below the standard error 1/sqrt(300)) sets its own `quick_n_test`
            quick_n = spec.get("quick_n_test", QUICK_N_TEST)
            kwargs["n_test"] = min(kwargs.get("n_test", quick_n), quick_n)
        metrics = evaluate(model, **kwargs)
        metrics.update(disentanglement.entry_scores(
            spec["family"], model, n=QUICK_N_TEST if quick else disentanglement.N_SAMPLES))
        rows.append({"entry": entry, "paper": spec["paper"], "metrics": metrics,
                     "claims": check_claims(entry, metrics),
                     "train_seconds": recorded.get("train_seconds"),
                     "parameters": int(model.count_params())})
    return rows


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-2 or abs(value) >= 1e3 else f"{value:.4f}"
    return str(value)


def markdown_table(rows):
    """One line per (entry, claim): the paper/issue claim beside the measure."""
    lines = ["| entry | paper | claim | measured | holds | train time |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        train = f"{row['train_seconds'] / 60:.1f} min" if row["train_seconds"] else "?"
        claims = row["claims"] or [{"claim": "-", "source": "", "measured": None,
                                    "holds": None}]
        for claim in claims:
            holds = {True: "yes", False: "NO", None: "-"}[claim["holds"]]
            lines.append(f"| {row['entry']} | {row['paper']} | {claim['claim']} "
                         f"({claim['source']}) | {_fmt(claim['measured'])} | {holds} | "
                         f"{train} |")
    return "\n".join(lines)


def zoo_table(rows):
    """The README's zoo table: one line per entry, measured metrics and claims."""
    lines = ["| entry | paper | measured on fresh data (claims: holds?) | parameters | training |",
             "| --- | --- | --- | --- | --- |"]
    for row in rows:
        spec = zoo.ENTRIES[row["entry"]]
        claims = "; ".join(f"{c['metric']} = {_fmt(c['measured'])} ({c['claim']}: "
                           f"{'yes' if c['holds'] else 'NO'})" for c in row["claims"])
        others = ", ".join(f"{k} = {_fmt(v)}" for k, v in row["metrics"].items()
                           if isinstance(v, float) and k not in
                           {c["metric"] for c in row["claims"]})
        measured = "; ".join(x for x in (claims, others) if x)
        train = f"{row['train_seconds'] / 60:.1f} min" if row["train_seconds"] else "?"
        lines.append(f"| `{row['entry']}` | {spec['paper']} | {measured} | "
                     f"{row['parameters']:,} | {train} (`{spec['recipe']}`) |")
    return "\n".join(lines)


def update_readme(path, rows, start="<!-- zoo-table:start -->",
                  end="<!-- zoo-table:end -->"):
    """Replaces the README's zoo table (between the markers) with `rows`."""
    path = Path(path)
    text = path.read_text()
    if start not in text or end not in text:
        raise ValueError(f"`readme` must contain the markers {start} and {end}. "
                         f"Received: readme={str(path)!r} without them")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    atomic.write_text(path, f"{head}{start}\n{zoo_table(rows)}\n{end}{tail}")
    return path


def write_report(rows, out_dir):
    """Writes `evaluation.json` and `evaluation.md` into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "evaluation.json", out_dir / "evaluation.md"
    atomic.write_text(json_path, json.dumps(rows, indent=2, default=float) + "\n")
    atomic.write_text(md_path, markdown_table(rows) + "\n")
    return [json_path, md_path]


def entry_figures(entry, out_dir):
    """Draws the figures of a trained entry; returns their paths."""
    family = zoo.ENTRIES[entry]["family"]
    if family not in analysis.FIGURES:
        return []
    # one folder per entry: entries of a family share their model's name
    return list(analysis.resolve(analysis.FIGURES, family)(zoo.load(entry),
                                                           Path(out_dir) / entry))
