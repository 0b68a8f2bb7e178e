"""Monitoring: production's error on every batch against its holdout line, and the served traffic read back."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ui import data
from ui.context import RUN_FIRST, load_context


def render() -> None:
    context = load_context()
    settings = context.settings
    height = context.config.charts.height_px
    st.title("Monitoring")
    try:
        history = context.cached(data.loop_history, "history_ttl_s")(
            settings.database_url, settings.tracking_uri, settings.registered_model_name, settings.production_alias
        )
        windows = context.cached(data.served_windows, "history_ttl_s")(settings.database_url)
        served_drift = context.cached(data.served_drift_frame, "history_ttl_s")(settings.database_url)
    except data.HistoryUnavailable as exc:
        st.error(str(exc))
        return
    if history is None:
        st.info(RUN_FIRST)
        return

    st.subheader("Production on each batch")
    st.caption(
        "MdAPE of the version serving when the batch came, on the batch's clean rows (priced before the decision), "
        "against its own holdout: the decay trigger fires when the first rises past its line (configs/drift.yaml)."
    )
    errors = data.production_on_batches(history)
    if errors.empty:
        st.info("No batch has been priced by a production model yet: the first batch trains it.")
    else:
        order = list(dict.fromkeys(errors.sort_values("order")["batch"]))
        chart = (
            alt.Chart(errors, height=height)
            .mark_line(point=True)
            .encode(
                x=alt.X("batch:O", sort=order, title="batch (source and number)"),
                y=alt.Y("mdape:Q", title="MdAPE (%)", scale=alt.Scale(zero=False)),
                color=alt.Color("line:N", title=None),
                strokeDash=alt.StrokeDash("line:N", legend=None),
                tooltip=["batch", "line", alt.Tooltip("mdape:Q", format=".1f")],
            )
        )
        st.altair_chart(chart, width="stretch")

    st.subheader("Served traffic")
    if not windows:
        st.info("No served request has been read back yet: the service logs requests, each training batch reads them.")
        return
    st.caption(
        "Each window is the inference log since the previous check, compared with production's training data by the "
        "same drift code as a batch. Severity 1 is a threshold; a feature is flagged past it when significant."
    )
    heat = (
        alt.Chart(served_drift, height=height)
        .mark_rect()
        .encode(
            x=alt.X("window:O", title="window"),
            y=alt.Y("feature:N", title=None),
            color=alt.Color("severity:Q", scale=alt.Scale(domain=[0, 3], scheme="reds", clamp=True)),
            tooltip=["window", "feature", alt.Tooltip("severity:Q", format=".2f"), "flagged"],
        )
    )
    st.altair_chart(heat, width="stretch")
    predictions = pd.DataFrame(
        [
            {"window": w.last_at, "quantile": q, "price": getattr(w.predictions, q)}
            for w in windows
            for q in ("p10", "p50", "p90")
            if getattr(w.predictions, q) is not None
        ]
    )
    if not predictions.empty:
        st.markdown("**Predicted prices per window** (10th, 50th and 90th percentile)")
        spread = (
            alt.Chart(predictions, height=height)
            .mark_line(point=True)
            .encode(
                x=alt.X("window:T", title="end of window"),
                y=alt.Y("price:Q", title="predicted price ($)", axis=alt.Axis(format="$,.0f")),
                color=alt.Color("quantile:N", title=None),
            )
        )
        st.altair_chart(spread, width="stretch")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "window": f"{w.first_log_id}-{w.last_log_id}",
                    "ended": w.last_at,
                    "requests": w.requests,
                    "rows": w.rows,
                    "compared with version": w.model_version,
                    "drifted": ", ".join(f.describe() for f in w.drifted) or "-",
                }
                for w in windows
            ]
        ),
        hide_index=True,
    )


render()
