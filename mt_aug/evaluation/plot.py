"""The chart of `mt-aug evaluate --compare ... --plot PLOT.png`: the headline figures of N
reports side by side (a ratio sweep's curve), drawn with matplotlib's Agg canvas (no display,
no pyplot state) and written atomically.

Panels (only those some report has figures for): retrieval figures in % (multilingual mAP,
mono and cross means, bitext mining, the BEIR means), same-language first in % with its
chance level, and rank distance in ranks. One point per report along the x axis, labelled by
its name; a figure a report lacks is a gap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mt_aug.evaluation.report import BEIR_FIGURES, figure_value, write_atomic

SERIES: list[tuple[str, str, tuple[str, ...]]] = [
    ("retrieval (%)", "multilingual mAP", ("map", "multilingual")),
    ("retrieval (%)", "mono mean mAP", ("map", "mono_mean")),
    ("retrieval (%)", "cross mean mAP", ("map", "cross_mean")),
    ("retrieval (%)", "bitext mining", ("bitext_mining", "mean")),
    *[("retrieval (%)", f"{f} mean", (f, "mean")) for f in BEIR_FIGURES],
    ("same-language first (%)", "same-language first", ("language_bias", "same_language_first", "mean")),
    ("same-language first (%)", "chance", ("language_bias", "same_language_first", "chance")),
    ("rank distance (ranks)", "rank distance", ("language_bias", "rank_distance", "mean")),
]


def plot_reports(reports: Sequence[dict[str, Any]], names: Sequence[str], path: Path) -> list[str]:
    """Write the PNG; returns the panel titles drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels: dict[str, list[tuple[str, list[float]]]] = {}
    for panel, label, keys in SERIES:
        values = [figure_value(r, *keys) for r in reports]
        if any(v is not None for v in values):
            scale = 1.0 if panel.startswith("rank") else 100.0
            panels.setdefault(panel, []).append((label, [math.nan if v is None else scale * v for v in values]))
    if not panels:
        raise ValueError("no figure to plot in these reports")
    fig = Figure(figsize=(max(6.0, 1.2 * len(reports) + 3), 3.2 * len(panels)), dpi=100)
    FigureCanvasAgg(fig)
    x = list(range(len(reports)))
    for i, (title, series) in enumerate(panels.items()):
        ax = fig.add_subplot(len(panels), 1, i + 1)
        for label, ys in series:
            ax.plot(x, ys, marker="o", linestyle="--" if label == "chance" else "-", label=label)
        ax.set_title(title)
        ax.set_xlim(-0.5, len(reports) - 0.5)
        ax.set_xticks(x)
        ax.set_xticklabels(list(names), rotation=20 if max(map(len, names)) > 10 else 0, ha="right"
                           if max(map(len, names)) > 10 else "center")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"))
    return list(panels)
