"""SHAP summary of a model version: a beeswarm plot and mean |SHAP| per feature."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tasador.model.predictor import Predictor


def shap_summary(predictor: Predictor, sample_df: pd.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    """(shap_summary.png, mean_abs_shap.json) for `sample_df` (the caller picks a seeded sample).

    Values are in log-price units: +0.1 means about 10 % more expensive.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    features = pd.DataFrame(predictor.encoder.transform(sample_df), columns=predictor.feature_names)
    values = shap.TreeExplainer(predictor.booster).shap_values(features)

    shap.summary_plot(values, features, show=False, max_display=len(predictor.feature_names))
    png = out_dir / "shap_summary.png"
    plt.gcf().savefig(png, dpi=100, bbox_inches="tight")
    plt.close("all")

    mean_abs = np.abs(values).mean(axis=0)
    ranked = sorted(zip(predictor.feature_names, mean_abs.tolist(), strict=True), key=lambda kv: -kv[1])
    path = out_dir / "mean_abs_shap.json"
    path.write_text(json.dumps(dict(ranked), indent=2))
    return png, path
