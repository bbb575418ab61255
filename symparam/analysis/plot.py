"""Plots of a sweep (matplotlib, an optional dependency: ``pip install symparam[plot]``).

One swept symbol: one panel per metric, the metric against the symbol. Two or more:
the first symbol on the x axis, one line per value of the second (at most
:data:`MAX_LINES`; the others at their first value). Axes turn logarithmic when the
values span more than :data:`LOG_SPAN` times, and are labelled with the symbols.
Plotting converts counts to floats: the plot is a picture, the numbers stay exact in
the table.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UsageError

MAX_LINES = 8
LOG_SPAN = 30


def _wants_log(values) -> bool:
    vals = [float(v) for v in values if float(v) > 0]
    return bool(vals) and max(vals) / min(vals) > LOG_SPAN


def plot_sweep(result, out: Path, units: dict | None = None) -> Path:
    """Draw ``result`` (a SweepResult) into ``out`` (.png, .svg or .pdf)."""
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg", ".pdf"):
        raise UsageError(f"--plot {out}: write a .png, .svg or .pdf file")
    fig = sweep_figure(result, units)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150 if suffix == ".png" else None)
    return out


def sweep_figure(result, units: dict | None = None):
    """The sweep drawn on a new matplotlib ``Figure`` (made without pyplot, so no
    global state and no GUI backend: it can be saved, or shown in a notebook)."""
    try:
        from matplotlib import colormaps
        from matplotlib.figure import Figure
        from matplotlib.ticker import EngFormatter
    except ImportError:
        raise UsageError("plotting needs matplotlib: pip install 'symparam[plot]'") from None
    import numpy as np

    units = units or {}
    x_name = result.grid[0]
    series_name = result.grid[1] if len(result.grid) > 1 else None
    xs_all = np.asarray(result.columns[x_name])
    # Points `count` refuses have no numbers to draw.
    mask = np.ones(result.size, dtype=bool) if result.valid is None else result.valid.copy()
    for other in result.grid[2:]:  # hold the third and later symbols at their first value
        col = np.asarray(result.columns[other])
        mask &= col == col[0]
    groups = [(None, mask)]
    if series_name:
        col = np.asarray(result.columns[series_name])
        values = list(dict.fromkeys(col[mask].tolist()))
        if len(values) > MAX_LINES:
            idx = np.linspace(0, len(values) - 1, MAX_LINES).round().astype(int)
            values = [values[i] for i in sorted(set(idx))]
        groups = [(v, mask & (col == v)) for v in values]
    n = len(result.metrics)
    fig = Figure(figsize=(6.4 * n, 4.6))
    axes = fig.subplots(1, n, squeeze=False)
    cmap = colormaps["viridis"]
    for ax, metric in zip(axes[0], result.metrics):
        ys_all = result.columns[metric]
        for k, (label, sel) in enumerate(groups):
            order = np.argsort(xs_all[sel].astype(float), kind="stable")
            xs = xs_all[sel].astype(float)[order]
            ys = np.asarray([float(v) for v in np.asarray(ys_all)[sel]])[order]
            color = cmap(k / max(len(groups) - 1, 1)) if label is not None else "C0"
            ax.plot(xs, ys, marker="o" if len(xs) <= 40 else None, ms=4, lw=1.8, color=color,
                    label=f"{series_name} = {label:,}" if label is not None else None)
        if _wants_log(xs_all[mask]):
            ax.set_xscale("log", base=2 if all(v & (v - 1) == 0 for v in
                                               map(int, xs_all[mask])) else 10)
        if _wants_log(np.asarray(ys_all)[mask]):
            ax.set_yscale("log")
        else:
            ax.yaxis.set_major_formatter(EngFormatter(unit=units.get(metric, "")))
        ax.set_xlabel(x_name, fontsize=12)
        ax.set_ylabel(metric + (" (bytes)" if units.get(metric) == "B" else ""),
                      fontsize=12)
        ax.set_title(f"{result.model}: {metric}", fontsize=12)
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
        if series_name:
            ax.legend(fontsize=9, frameon=False)
    fixed = ", ".join(f"{k} = {v:,}" for k, v in result.fixed.items())
    held = ", ".join(f"{o} = {result.columns[o][0]:,}" for o in result.grid[2:])
    note = "; ".join(p for p in (fixed, held) if p)
    if note:
        fig.text(0.01, 0.01, note, fontsize=8, color="0.35")
    fig.tight_layout(rect=(0, 0.03 if note else 0, 1, 1))
    return fig


class SweepPlot:
    """A sweep's figure that notebooks show inline (as PNG, or SVG where the front end
    prefers it) in any Jupyter front end; ``figure`` is the matplotlib Figure to adjust,
    :meth:`save` writes it."""

    def __init__(self, figure) -> None:
        self.figure = figure

    def __repr__(self) -> str:
        return f"<sweep plot: {', '.join(ax.get_title() for ax in self.figure.axes)}>"

    def _image(self, fmt: str, **kw) -> bytes:
        import io

        buf = io.BytesIO()
        self.figure.savefig(buf, format=fmt, **kw)
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self._image("png", dpi=100)

    def _repr_svg_(self) -> str:
        return self._image("svg").decode("utf-8")

    def save(self, out) -> Path:
        out = Path(out)
        self.figure.savefig(out, dpi=150 if out.suffix.lower() == ".png" else None)
        return out
