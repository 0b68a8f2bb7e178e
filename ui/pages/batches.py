"""Batches: what came in, what was quarantined and why, the drift, the decision, and the data report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from tasador.history import BatchHistory
from ui import data
from ui.context import RUN_FIRST, load_context


def render() -> None:
    context = load_context()
    settings = context.settings
    st.title("Batches")
    try:
        history = context.cached(data.loop_history, "history_ttl_s")(
            settings.database_url, settings.tracking_uri, settings.registered_model_name, settings.production_alias
        )
    except data.HistoryUnavailable as exc:
        st.error(str(exc))
        return
    if history is None or not history.batches:
        st.info(RUN_FIRST)
        return

    st.dataframe(
        data.batches_frame(history),
        hide_index=True,
        column_config={
            "received": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "retrain": st.column_config.CheckboxColumn(),
        },
    )
    by_id = {b.batch_id: b for b in history.batches}
    batch_id = st.selectbox("Batch", sorted(by_id, reverse=True), format_func=lambda i: f"batch {i}", key="batch")
    _batch_detail(by_id[batch_id])
    st.subheader("Data report")
    try:
        report = data.data_report(settings.database_url, batch_id)
    except data.HistoryUnavailable as exc:
        st.error(str(exc))
        return
    _report(report, batch_id)


def _batch_detail(batch: BatchHistory) -> None:
    rows_in, clean, quarantined = st.columns(3)
    rows_in.metric("rows in", f"{batch.rows_in:,}")
    clean.metric("clean", f"{batch.clean_rows:,}")
    quarantined.metric("quarantined", f"{batch.quarantined_rows:,}")

    st.subheader("Decision")
    if batch.retrain is None:
        st.info("No decision recorded for this batch: it was rejected, or its run stopped before the decide step.")
    else:
        st.markdown(f"**{'Retrain' if batch.retrain else 'No retraining'}**: {batch.reason}")
        if batch.model_version:
            st.markdown(f"Trained version **{batch.model_version}**: {batch.outcome or 'not judged yet'}.")

    left, right = st.columns(2)
    with left:
        st.subheader("Quarantined, by reason")
        if batch.quarantined:
            reasons = pd.DataFrame({"reason": list(batch.quarantined), "rows": list(batch.quarantined.values())})
            st.dataframe(reasons, hide_index=True)
        else:
            st.caption("No row of this batch was quarantined.")
    with right:
        st.subheader("Drift per feature")
        if batch.drift:
            st.dataframe(data.drift_frame(batch.drift), hide_index=True)
        else:
            st.caption("No drift figures for this batch: there was no production model to compare with.")


def _report(report: dict[str, Any] | None, batch_id: int) -> None:
    if report is None:
        st.info("No validation report recorded for this batch.")
        return
    st.markdown("Validation passed." if report["success"] else "Validation found failures; those rows are quarantined.")
    html = Path(report["html_path"])
    if not html.is_file():
        st.warning(f"The report file {html} is missing on this machine; process the batch again to rebuild it.")
        return
    st.download_button(
        "Download the data report (HTML)",
        data=html.read_bytes(),
        file_name=f"tasador-batch-{batch_id}-report.html",
        mime="text/html",
        key="report_download",
        icon=":material/download:",
    )


render()
