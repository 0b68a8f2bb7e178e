"""Altair charts the pages show: SHAP bars, metrics over batches, feature importance across versions."""

from __future__ import annotations

import altair as alt
import pandas as pd

from tasador.model.features import feature_label
from tasador.schema import COLUMN_LABELS

RAISES = "#c0392b"
LOWERS = "#2471a3"
#: Every bar keeps its label: Vega-Lite drops labels it finds crowded unless told not to.
BAR_LABELS = alt.Axis(labelOverlap=False, labelLimit=360, title=None)


def contributions_bars(contributions: dict[str, float], top: int, bar_px: int) -> alt.Chart:
    """Horizontal bars of one prediction's SHAP values, largest effect on top, red up and blue down."""
    frame = pd.DataFrame({"feature": list(contributions), "contribution": list(contributions.values())})
    frame = frame.reindex(frame["contribution"].abs().sort_values(ascending=False).index).head(top)
    frame["effect"] = frame["contribution"].map(lambda v: "raises the price" if v >= 0 else "lowers the price")
    frame["label"] = frame["feature"].map(lambda name: COLUMN_LABELS.get(name, name))
    return (
        alt.Chart(frame, height=alt.Step(bar_px))
        .mark_bar()
        .encode(
            x=alt.X("contribution:Q", title="contribution to log(price)"),
            y=alt.Y("label:N", sort=None, axis=BAR_LABELS),
            color=alt.Color(
                "effect:N",
                scale=alt.Scale(domain=["raises the price", "lowers the price"], range=[RAISES, LOWERS]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=["label", "feature", alt.Tooltip("contribution:Q", format="+.3f")],
        )
    )


def importance_bars(values: dict[str, float], top: int, bar_px: int) -> alt.Chart:
    """Horizontal bars of a version's mean |SHAP|, most important on top."""
    frame = pd.DataFrame({"feature": list(values), "mean_abs_shap": list(values.values())})
    frame = frame.sort_values("mean_abs_shap", ascending=False).head(top)
    frame["label"] = frame["feature"].map(feature_label)
    return (
        alt.Chart(frame, height=alt.Step(bar_px))
        .mark_bar()
        .encode(
            x=alt.X("mean_abs_shap:Q", title="mean |SHAP| (log dollars)"),
            y=alt.Y("label:N", sort=None, axis=BAR_LABELS),
            tooltip=["label", alt.Tooltip("mean_abs_shap:Q", format=".3f")],
        )
    )


def metric_over_batches(timeline: pd.DataFrame, metric: str, number_format: str, height: int) -> alt.LayerChart:
    """The production model's holdout metric after each batch; a step and a mark "v3 promoted" where a new
    version took over."""
    x = alt.X("batch:O", title="batch", axis=alt.Axis(labelAngle=0))
    line = (
        alt.Chart(timeline, height=height)
        .mark_line(interpolate="step-after", point=True)
        .encode(
            x=x,
            y=alt.Y(f"{metric}:Q", title=metric, scale=alt.Scale(zero=False), axis=alt.Axis(format=number_format)),
            tooltip=["batch", "version", alt.Tooltip(f"{metric}:Q", format=number_format)],
        )
    )
    promoted = timeline[timeline["version"].ne(timeline["version"].shift())].assign(
        mark=lambda frame: "v" + frame["version"].astype(str) + " promoted"
    )
    rules = alt.Chart(promoted).mark_rule(strokeDash=[4, 3], color="#2e7d32").encode(x=x)
    labels = (
        alt.Chart(promoted)
        .mark_text(align="left", baseline="top", dx=4, dy=4, color="#2e7d32")
        .encode(x=x, y=alt.value(0), text="mark:N")
    )
    return line + rules + labels


def importance_trend(trend: pd.DataFrame, height: int) -> alt.Chart:
    """Mean |SHAP| of the followed features across production versions, one line each."""
    trend = trend.assign(label=trend["feature"].map(feature_label))
    return (
        alt.Chart(trend, height=height)
        .mark_line(point=True)
        .encode(
            x=alt.X("version:O", title="model version", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("mean_abs_shap:Q", title="mean |SHAP| (log dollars)"),
            color=alt.Color("label:N", legend=alt.Legend(orient="bottom", title=None, labelLimit=360, columns=2)),
            tooltip=["version", "label", "rank", alt.Tooltip("mean_abs_shap:Q", format=".3f")],
        )
    )
