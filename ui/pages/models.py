"""Models: every registered version, promoted or rejected and why, and the production metrics over batches."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tasador.history import History
from tasador.model.evaluation import format_metric
from ui import data
from ui.charts import metric_over_batches
from ui.context import RUN_MORE, AppContext, load_context
from ui.pages.common import models_history

HIGHLIGHT = "background-color: rgba(46, 160, 67, 0.18)"
#: How each holdout metric reads: in the table (Streamlit's format) and on the chart's axis (d3's format).
#: mdape is already in percent (tasador.model.evaluation), not a fraction.
METRIC_FORMATS: dict[str, tuple[str, str]] = {
    "rmse": ("dollar", "$,.0f"),
    "mae": ("dollar", "$,.0f"),
    "mdape": ("%.1f%%", ".1f"),
    "r2_log": ("%.3f", ".3f"),
}


def render() -> None:
    context = load_context()
    settings = context.settings
    st.title("Models")
    loaded = models_history(context, f"No model is registered as `{settings.registered_model_name}` yet. {RUN_MORE}")
    if loaded is None:
        return
    history, runs = loaded

    versions = data.versions_frame(history, runs)
    _production_summary(versions, settings.production_alias)
    st.subheader("Every version")
    st.dataframe(
        versions.drop(columns=["run_id"]).style.apply(
            lambda row: [HIGHLIGHT if row["production"] else "" for _ in row], axis=1
        ),
        hide_index=True,
        # What tells versions apart first, so it fits without scrolling; the reasons in full are listed below.
        column_order=["version", "production", "decision", *METRIC_FORMATS, "batches", "source_batch", "created"],
        column_config={
            "production": st.column_config.CheckboxColumn(settings.production_alias),
            "source_batch": st.column_config.NumberColumn("trained for batch", format="%d"),
            "batches": st.column_config.TextColumn("trained on batches"),
            "changed": st.column_config.TextColumn("what changed (the decision that trained it)"),
            "fixed": st.column_config.TextColumn("what it fixed (where production's error rose: before → after)"),
            "created": st.column_config.DatetimeColumn("registered", format="YYYY-MM-DD HH:mm"),
            **{m: st.column_config.NumberColumn(f"holdout {m}", format=f) for m, (f, _) in METRIC_FORMATS.items()},
        },
    )
    _reasons(versions)
    _served_when(context)
    _metrics_over_batches(context, history)


def _reasons(versions: pd.DataFrame) -> None:
    """Each version's decision and its reason in full (a table cell would cut it off)."""
    with st.expander("Why each version was promoted or rejected", expanded=True):
        st.markdown(
            "\n".join(
                f"- **v{row.version}** {row.decision or 'not judged'}: {_escaped(row.reason or 'no reason recorded')}"
                for row in versions.itertuples()
            )
        )


def _escaped(text: str) -> str:
    return text.replace("$", "\\$")  # Streamlit's markdown reads $...$ as LaTeX


def _production_summary(versions: pd.DataFrame, alias: str) -> None:
    serving = versions[versions["production"]]
    if serving.empty:
        st.warning(f"No version carries the alias `{alias}`: the service has no model to load.")
        return
    row = serving.iloc[0]
    st.success(
        f"Version {row['version']} is `{alias}`: {row['reason'] or 'no reason recorded'}", icon=":material/star:"
    )
    for column, metric in zip(st.columns(len(METRIC_FORMATS)), METRIC_FORMATS, strict=True):
        column.metric(f"holdout {metric}", format_metric(metric, row[metric]))


def _served_when(context: AppContext) -> None:
    """Promotions and rollbacks: which version served from when to when, and why it started."""
    settings = context.settings
    st.subheader("Which version served when")
    try:
        periods = context.cached(data.served_history, "history_ttl_s")(
            settings.tracking_uri, settings.registered_model_name, settings.production_alias
        )
    except data.HistoryUnavailable as exc:
        st.error(str(exc))
        return
    if periods.empty:
        st.info(f"No move of `{settings.production_alias}` is recorded yet (promotions and rollbacks are).")
        return
    st.dataframe(
        periods,
        hide_index=True,
        column_config={
            "since": st.column_config.DatetimeColumn("since", format="YYYY-MM-DD HH:mm:ss"),
            "until": st.column_config.DatetimeColumn("until (empty: serving now)", format="YYYY-MM-DD HH:mm:ss"),
        },
    )


def _metrics_over_batches(context: AppContext, history: History) -> None:
    st.subheader("Production metrics over batches")
    timeline = data.production_timeline(history)
    if timeline.empty:
        st.info("No batch has promoted a version yet, so there is no production history to plot.")
        return
    metric = st.segmented_control("Metric", list(METRIC_FORMATS), default="mdape", key="timeline_metric") or "mdape"
    chart = metric_over_batches(timeline, metric, METRIC_FORMATS[metric][1], context.config.charts.height_px)
    st.altair_chart(chart, width="stretch")


render()
