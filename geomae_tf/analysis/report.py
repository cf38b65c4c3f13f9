"""Evaluation of zoo entries side by side: the table `geomae evaluate` and
`geomae demo` print, as JSON and markdown, with the paper's claims beside
the measured numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from geomae_tf import io, zoo
from geomae_tf.analysis import disentanglement
from geomae_tf.analysis.claims import check_claims
from geomae_tf.analysis.families import FAMILIES

if TYPE_CHECKING:
    from geomae_tf.types import PathLike

QUICK_N_TEST = 300


def evaluate_entries(entries: list[str], quick: bool = False,
                     progress: bool = False) -> list[dict]:
    """Loads each trained entry, measures it on fresh data; returns rows.

    Args:
        entries: list of str. Zoo entries with trained weights.
        quick: bool. Smaller held-out sets (`QUICK_N_TEST`, or the entry's own
            `quick_n_test`). Defaults to False.
        progress: bool. Show a progress bar over the entries (on stderr).
            Defaults to False.

    Returns:
        list of dict: `entry`, `paper`, `metrics`, `claims` (see
        `check_claims`), `train_seconds`, `parameters`.
    """
    rows = []
    for entry in _progress(entries, "evaluating", progress):
        spec = zoo.ENTRIES[entry]
        model = zoo.load(entry)
        evaluate = FAMILIES[spec["family"]].evaluate
        recorded = zoo.entry_config(entry).get("results", {})
        kwargs = dict(recorded.get("evaluation", {}))
        # evaluation options added since the entry was published (e.g. the
        # atomic entries' refined code), on the same weights
        kwargs.update(spec.get("evaluation", {}))
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


def _progress(entries, what, enabled):
    """`entries` under a tqdm bar named after the current entry (or as they are)."""
    if not enabled:
        yield from entries
        return
    with tqdm(entries, desc=what, unit="entry", leave=True) as bar:
        for entry in bar:
            bar.set_postfix_str(entry)
            yield entry


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-2 or abs(value) >= 1e3 else f"{value:.4f}"
    return str(value)


def _other_metrics(row, limit=None):
    """"name = value" of the row's float metrics that no claim reads."""
    claimed = {c["metric"] for c in row["claims"]}
    items = [f"{k} = {_fmt(v)}" for k, v in row["metrics"].items()
             if isinstance(v, float) and k not in claimed]
    return ", ".join(items[:limit])


def markdown_table(rows: list[dict]) -> str:
    """One line per (entry, claim): the paper's claim beside the measure.

    An entry without claims gets one line with its measured metrics.
    """
    lines = ["| entry | paper | claim (source) | measured | holds | train time |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        train = f"{row['train_seconds'] / 60:.1f} min" if row["train_seconds"] else "?"
        if not row["claims"]:
            lines.append(f"| {row['entry']} | {row['paper']} | no claim checked | "
                         f"{_other_metrics(row, limit=6)} | - | {train} |")
        for claim in row["claims"]:
            holds = "yes" if claim["holds"] else "NO"
            lines.append(f"| {row['entry']} | {row['paper']} | {claim['claim']} "
                         f"({claim['source']}) | {_fmt(claim['measured'])} | {holds} | "
                         f"{train} |")
    return "\n".join(lines)


def text_table(rows: list[dict]) -> str:
    """The claims as aligned plain text for a terminal: entry, claim, measured, holds.

    The papers and the claims' sources are in `markdown_table` (`evaluation.md`) and
    the model cards. An entry without claims gets one line with its metrics.
    """
    lines = [f"{'entry':<22} {'claim':<32} {'measured':>10}  holds"]
    for row in rows:
        if not row["claims"]:
            lines.append(f"{row['entry']:<22} (no claim) {_other_metrics(row, limit=3)}")
        for claim in row["claims"]:
            lines.append(f"{row['entry']:<22} {claim['claim']:<32} "
                         f"{_fmt(claim['measured']):>10}  "
                         f"{'yes' if claim['holds'] else 'NO'}")
    return "\n".join(lines)


def write_report(rows: list[dict], out_dir: PathLike) -> list[Path]:
    """Writes `evaluation.json` and `evaluation.md` into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "evaluation.json", out_dir / "evaluation.md"
    io.write_text(json_path, json.dumps(rows, indent=2, default=float) + "\n")
    io.write_text(md_path, markdown_table(rows) + "\n")
    return [json_path, md_path]


def entry_figures(entry: str, out_dir: str | Path) -> list[Path]:
    """Draws the figures of a trained entry; returns their paths.

    Entries of a family share their model's name, so the model is renamed after
    the entry: titles and file names say `disk_ae_hole`, not `disk_ae`. The
    entry's preset `figures` (e.g. `unseen_radii`) are passed to its family's
    figure function.
    """
    spec = zoo.ENTRIES[entry]
    model = zoo.load(entry)
    model.name = entry
    draw = FAMILIES[spec["family"]].figures
    return list(draw(model, Path(out_dir) / entry, **spec.get("figures", {})))


def all_figures(entries: list[str], out_dir: str | Path,
                progress: bool = False) -> list[Path]:
    """`entry_figures` of each entry, under a progress bar; returns all paths."""
    paths = []
    for entry in _progress(entries, "drawing figures", progress):
        paths += entry_figures(entry, out_dir)
    return paths
