"""The report's two pictures: production metrics over batches, and drift per feature per batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # a bare Figure renders with Agg: no pyplot, no global backend
from matplotlib.ticker import MaxNLocator

from tasador.history.build import History

METRICS_PNG = "production_metrics.png"
DRIFT_PNG = "drift_by_feature.png"


def plot_production_metrics(history: History, out_dir: Path) -> Path:
    """mdape and rmse of the model serving after each batch, one panel each; promotions marked."""
    numbers = [b.batch_number for b in history.batches]
    fig = Figure(figsize=(9, 5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    panels = ((top, "mdape", 1.0, "mdape (%)"), (bottom, "rmse", 1.0, "rmse"))
    for ax, metric, scale, label in panels:
        values = [scale * b.production_metrics.get(metric, np.nan) for b in history.batches]
        ax.step(numbers, values, where="post", marker=".", color="tab:blue")
        promoted = [(n, v) for n, v, b in zip(numbers, values, history.batches, strict=True) if b.outcome == "promoted"]
        if promoted:
            ax.scatter(*zip(*promoted, strict=True), color="tab:green", zorder=3, s=50, label="promotion")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    top.set_title(f"{history.model_name}@{history.alias} on its holdout, after each batch")
    if top.get_legend_handles_labels()[0]:
        top.legend(loc="upper right")
    bottom.set_xlabel("batch")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    if history.production is None:
        top.text(0.5, 0.5, "no production model yet", transform=top.transAxes, ha="center")
    path = out_dir / METRICS_PNG
    fig.savefig(path, dpi=110)
    return path


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
    ax.set_xticks(range(len(batches)), [str(b.batch_number) for b in batches])
    ax.set_yticks(range(len(features)), features)
    ax.set_xlabel("batch (x = flagged: past a threshold and significant)")
    ax.set_title("Drift against the production model's training data")
    fig.savefig(path, dpi=110)
    return path
