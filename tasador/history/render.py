"""Write the history as Markdown and HTML from one set of rows, with the plots next to them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tasador.history.build import History
from tasador.history.plots import plot_drift, plot_production_metrics
from tasador.model.evaluation import format_metric
from tasador.model.features import feature_label
from tasador.schema import METRICS

TEMPLATES = Path(__file__).parent / "templates"
#: The report's metric columns: MdAPE, the figure promotion judges by, first.
METRIC_COLUMNS: tuple[str, ...] = ("mdape", *(m for m in METRICS if m != "mdape"))


def write_report(history: History, out_dir: Path) -> tuple[Path, Path]:
    """`models.md` and `models.html` in `out_dir`, with their PNGs; returns (md_path, html_path)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    context = {
        "history": history,
        "metrics_png": plot_production_metrics(history, out_dir).name,
        "drift_png": plot_drift(history, out_dir).name,
        "metric_columns": METRIC_COLUMNS,
    }
    md_path, html_path = out_dir / "models.md", out_dir / "models.html"
    md_path.write_text(_environment(autoescape=False).get_template("report.md.j2").render(context))
    html_path.write_text(_environment(autoescape=True).get_template("report.html.j2").render(context))
    return md_path, html_path


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]) if autoescape else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters |= {"metric": _metric, "cell": _cell, "when": _when, "feature": feature_label}
    return env


def _metric(value: float | None, name: str) -> str:
    return format_metric(name, value)


def _cell(value: Any) -> str:
    """Markdown table cells cannot hold pipes or line breaks."""
    return "-" if value in (None, "") else str(value).replace("|", "/").replace("\n", " ")


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"
