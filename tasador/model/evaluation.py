"""Holdout metrics and plots; the same numbers decide promotion and tag every version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from tasador.schema import TARGET

PredictFn = Callable[[pd.DataFrame], np.ndarray]
#: Metrics in dollars (the rest: mdape in percent, r2_log a ratio).
DOLLAR_METRICS = ("rmse", "mae")


def format_metric(name: str, value: float | None) -> str:
    """A holdout metric as a person reads it: rmse $430,200, mdape 18.2%, r2_log 0.734."""
    if value is None or pd.isna(value):
        return "-"
    if name in DOLLAR_METRICS:
        return f"${value:,.0f}"
    return f"{value:.1f}%" if name == "mdape" else f"{value:.3f}"


def evaluate(predict_fn: PredictFn, holdout_df: pd.DataFrame) -> dict[str, float]:
    """rmse and mae in dollars, mdape in percent (median absolute % error), r2_log (R² on log price).

    Rows without a positive price cannot be scored and are left out.
    """
    scored = holdout_df[holdout_df[TARGET] > 0]
    if scored.empty:
        raise ValueError("The holdout has no row with a positive price; evaluate needs at least one.")
    y_true = scored[TARGET].to_numpy(dtype=float)
    y_pred = np.asarray(predict_fn(scored), dtype=float)
    return price_metrics(y_true, y_pred)


def price_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    errors = y_pred - y_true
    log_true, log_pred = np.log(y_true), np.log(np.maximum(y_pred, 1.0))
    spread = np.sum((log_true - log_true.mean()) ** 2)
    r2_log = 1.0 - np.sum((log_true - log_pred) ** 2) / spread if spread > 0 else float("nan")
    return {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
        "mdape": float(np.median(np.abs(errors) / y_true) * 100),
        "r2_log": float(r2_log),
    }


def evaluation_plots(y_true: np.ndarray, y_pred: np.ndarray, out_dir: Path) -> list[Path]:
    """predicted_vs_actual.png (log axes) and residuals.png (log error against actual price)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    keep = (y_true > 0) & (y_pred > 0)
    y_true, y_pred = y_true[keep], y_pred[keep]

    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(y_true, y_pred, s=6, alpha=0.4)
    low, high = min(y_true.min(), y_pred.min()), max(y_true.max(), y_pred.max())
    ax.plot([low, high], [low, high], color="black", linewidth=1, label="perfect")
    ax.set(xscale="log", yscale="log", xlabel="actual price ($)", ylabel="predicted price ($)")
    ax.set_title("Holdout: predicted vs actual")
    ax.legend()
    scatter = out_dir / "predicted_vs_actual.png"
    fig.savefig(scatter, dpi=100, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(y_true, np.log(y_pred / y_true), s=6, alpha=0.4)
    ax.axhline(0, color="black", linewidth=1)
    ax.set(xscale="log", xlabel="actual price ($)", ylabel="log(predicted / actual)")
    ax.set_title("Holdout residuals")
    residuals = out_dir / "residuals.png"
    fig.savefig(residuals, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return [scatter, residuals]
