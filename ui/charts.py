"""Altair charts the pages show: SHAP bars, metrics over batches, feature importance across versions."""

from __future__ import annotations

import altair as alt
import pandas as pd

RAISES = "#c0392b"
LOWERS = "#2471a3"


def contributions_bars(contributions: dict[str, float], top: int, bar_px: int) -> alt.Chart:
    """Horizontal bars of one prediction's SHAP values, largest effect on top, red up and blue down."""
    frame = pd.DataFrame({"feature": list(contributions), "contribution": list(contributions.values())})
    frame = frame.reindex(frame["contribution"].abs().sort_values(ascending=False).index).head(top)
    frame["effect"] = frame["contribution"].map(lambda v: "raises the price" if v >= 0 else "lowers the price")
    return (
        alt.Chart(frame, height=bar_px * len(frame))
        .mark_bar()
        .encode(
            x=alt.X("contribution:Q", title="contribution to log(price)"),
            y=alt.Y("feature:N", sort=None, title=None),
            color=alt.Color(
                "effect:N",
                scale=alt.Scale(domain=["raises the price", "lowers the price"], range=[RAISES, LOWERS]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=["feature", alt.Tooltip("contribution:Q", format="+.3f")],
        )
    )


def importance_bars(values: dict[str, float], top: int, bar_px: int) -> alt.Chart:
    """Horizontal bars of a version's mean |SHAP|, most important on top."""
    frame = pd.DataFrame({"feature": list(values), "mean_abs_shap": list(values.values())})
    frame = frame.sort_values("mean_abs_shap", ascending=False).head(top)
    return (
        alt.Chart(frame, height=bar_px * len(frame))
        .mark_bar()
        .encode(
            x=alt.X("mean_abs_shap:Q", title="mean |SHAP| (log dollars)"),
            y=alt.Y("feature:N", sort=None, title=None),
            tooltip=["feature", alt.Tooltip("mean_abs_shap:Q", format=".3f")],
        )
    )


def metric_over_batches(timeline: pd.DataFrame, metric: str, number_format: str, height: int) -> alt.Chart:
    """The production model's holdout metric after each batch; a step where a new version was promoted."""
    return (
        alt.Chart(timeline, height=height)
        .mark_line(interpolate="step-after", point=True)
        .encode(
            x=alt.X("batch:O", title="batch", axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{metric}:Q", title=metric, scale=alt.Scale(zero=False), axis=alt.Axis(format=number_format)),
            tooltip=["batch", "version", alt.Tooltip(f"{metric}:Q", format=number_format)],
        )
    )


def importance_trend(trend: pd.DataFrame, height: int) -> alt.Chart:
    """Mean |SHAP| of the followed features across production versions, one line each."""
    return (
        alt.Chart(trend, height=height)
        .mark_line(point=True)
        .encode(
            x=alt.X("version:O", title="model version", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("mean_abs_shap:Q", title="mean |SHAP| (log dollars)"),
            color=alt.Color("feature:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["version", "feature", "rank", alt.Tooltip("mean_abs_shap:Q", format=".3f")],
        )
    )
