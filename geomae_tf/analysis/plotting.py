"""The figure plumbing every analysis module shares: a headless pyplot, and
saving a figure to a path (parents created, figure closed)."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """`matplotlib.pyplot` on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi=100, bbox_inches="tight"):
    """Writes `fig` to `path` (creating its folder), closes it; returns the Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches=bbox_inches)
    pyplot().close(fig)
    return path
