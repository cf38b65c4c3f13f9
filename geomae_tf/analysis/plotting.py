"""The figure plumbing every analysis module shares: figures built as bare
`matplotlib.figure.Figure` objects, and saving one to a path.

Figures are never registered with pyplot and matplotlib's backend is left
alone: a notebook's inline backend keeps working, a headless machine needs
no display, and drawing a hundred figures leaks none of them. A Figure object
displays itself in Jupyter (it is the last expression of a cell) and saves
itself with `fig.savefig(path)`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

#: `Figure.subplots` arguments; every other keyword of `subplots` goes to `Figure`.
_SUBPLOTS_KEYS = ("sharex", "sharey", "squeeze", "width_ratios", "height_ratios",
                  "subplot_kw", "gridspec_kw")


class _Figures:
    """The part of `matplotlib.pyplot` the analysis modules use, on bare Figures."""

    @staticmethod
    def figure(**kwargs):
        """A new `matplotlib.figure.Figure` (not registered with pyplot)."""
        return Figure(**kwargs)

    @classmethod
    def subplots(cls, nrows=1, ncols=1, **kwargs):
        """`(fig, axes)` as `pyplot.subplots` returns them, on a bare Figure."""
        grid = {k: kwargs.pop(k) for k in _SUBPLOTS_KEYS if k in kwargs}
        fig = cls.figure(**kwargs)
        return fig, fig.subplots(nrows, ncols, **grid)

    @staticmethod
    def get_cmap(name=None, lut=None):
        """The colormap `name` (resampled to `lut` colours when given)."""
        cmap = matplotlib.colormaps[name or matplotlib.rcParams["image.cmap"]]
        return cmap.resampled(lut) if lut is not None else cmap

    @staticmethod
    def close(fig=None):
        """Nothing to release: bare Figures are freed with their last reference."""


def pyplot() -> type[_Figures]:
    """A pyplot-like namespace (`subplots`, `figure`, `get_cmap`, `close`) whose
    figures are bare `matplotlib.figure.Figure` objects; the backend is untouched."""
    return _Figures


def save_figure(fig: Figure, path: str | Path, dpi: int = 100, bbox_inches: str = "tight") -> Path:
    """Writes `fig` to `path` (creating its folder); returns the Path.

    Args:
        fig: matplotlib.figure.Figure. The figure to save.
        path: str or Path. A file name whose suffix names the format (`.png`).
        dpi: int. Resolution. Defaults to 100.
        bbox_inches: str. Defaults to "tight" (no white margins).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches=bbox_inches)
    return path
