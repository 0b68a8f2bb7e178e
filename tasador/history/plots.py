"""The report's two pictures: production's error on each batch, and drift per feature per batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # a bare Figure renders with Agg: no pyplot, no global backend
from matplotlib.ticker import MaxNLocator

from tasador.history.build import BatchHistory, History

METRICS_PNG = "production_metrics.png"
DRIFT_PNG = "drift_by_feature.png"


def plot_production_metrics(history: History, out_dir: Path) -> Path:
    """MdAPE and RMSE ($) of production on each batch's clean rows, against its holdout; promotions marked.

    Every batch is priced the same way before its decision (by the version serving when it came, on rows it
    never saw), so the line is comparable across promotions; the dashed line is that version's holdout.
    Batches before these figures were recorded fall back to the holdout figures at promotion time.
    """
    batches = history.batches
    positions = list(range(len(batches)))
    fig = Figure(figsize=(9, 5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    for ax, metric, label in ((top, "mdape", "MdAPE (%)"), (bottom, "rmse", "RMSE ($)")):
        on_batch = [b.production_on_batch.get(metric, np.nan) for b in batches]
        holdout = [b.production_on_holdout.get(metric, b.production_metrics.get(metric, np.nan)) for b in batches]
        ax.plot(positions, on_batch, marker=".", color="tab:blue", label="on the batch's clean rows")
        ax.step(positions, holdout, where="mid", linestyle="--", color="tab:gray", label="on its holdout")
        promoted = [(x, v) for x, v, b in zip(positions, holdout, batches, strict=True) if b.outcome == "promoted"]
        if promoted:
            ax.scatter(*zip(*promoted, strict=True), color="tab:green", zorder=3, s=50, label="promotion")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    top.set_title(f"{history.model_name}@{history.alias} on each batch, before its decision")
    if top.get_legend_handles_labels()[0]:
        top.legend(loc="upper left", fontsize="small")
    _batch_axis(bottom, batches)
    if history.production is None:
        top.text(0.5, 0.5, "no production model yet", transform=top.transAxes, ha="center")
    path = out_dir / METRICS_PNG
    fig.savefig(path, dpi=110)
    return path


def _batch_axis(ax: Axes, batches: list[BatchHistory]) -> None:
    """Batch numbers as ticks; with more than one source, the source beside each number."""
    sources = list(dict.fromkeys(b.source for b in batches))
    if len(sources) <= 1:
        ax.set_xticks(range(len(batches)), [str(b.batch_number) for b in batches])
        ax.set_xlabel(f"batch of {sources[0]}" if sources else "batch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(lambda x, _: str(batches[int(x)].batch_number) if 0 <= x < len(batches) else "")
        return
    ax.set_xticks(range(len(batches)), [f"{b.source} {b.batch_number}" for b in batches], rotation=90)
    ax.set_xlabel("batch (source and number)")


def plot_drift(history: History, out_dir: Path) -> Path:
    """Severity per feature (rows) and batch (columns): largest effect over its threshold; x = flagged."""
    batches = [b for b in history.batches if b.drift]
    features = sorted({name for b in batches for name in b.drift})
    fig = Figure(figsize=(max(6.0, 0.35 * len(batches) + 3), 0.4 * len(features) + 2), layout="constrained")
    ax = fig.add_subplot()
    path = out_dir / DRIFT_PNG
    if not batches:
        ax.text(0.5, 0.5, "no drift compared yet (no production model)", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        fig.savefig(path, dpi=110)
        return path
    severity = np.array(
        [[b.drift.get(f, {}).get("severity") or np.nan for b in batches] for f in features], dtype=float
    )
    # Capped at 3x the threshold: past that, how far past matters less than where and when.
    image = ax.imshow(severity, aspect="auto", cmap="Reds", vmin=0, vmax=3)
    fig.colorbar(image, ax=ax, extend="max", label="largest effect / its threshold (>= 1: past it)")
    for col, batch in enumerate(batches):
        for row, name in enumerate(features):
            if batch.drift.get(name, {}).get("flagged"):
                ax.text(col, row, "x", ha="center", va="center", color="black", fontweight="bold")
    _batch_axis(ax, batches)
    ax.set_xlabel(f"{ax.get_xlabel()} (x = flagged: past a threshold and significant)")
    ax.set_yticks(range(len(features)), features)
    ax.set_title("Drift against the production model's training data")
    fig.savefig(path, dpi=110)
    return path
