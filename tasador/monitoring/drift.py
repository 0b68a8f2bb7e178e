"""Drift of a batch against the data the production model was trained on, feature by feature.

A feature is flagged only when its change is both *significant* (the test's p-value is below
`significance`) and *large* (an effect size passes its threshold). P-values alone flag everything once
samples are large, effect sizes alone flag noise when batches are small; together they do neither.
The reference is subsampled to a fixed size with a seed, so the same figures mean the same drift
whatever the size of the training set. Thresholds live in `configs/drift.yaml`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from tasador.configs import DriftConfig, ReferenceSample
from tasador.results import DriftedFeature
from tasador.schema import TARGET

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class FeatureDrift:
    """The figures of one feature and the thresholds it passed (empty when not flagged)."""

    name: str
    kind: Kind
    figures: dict[str, float]
    breaches: tuple[str, ...] = ()
    log_scale: bool = False  # numeric figures computed on log(1 + x)
    note: str | None = None  # why a feature was not judged, e.g. too few values

    @property
    def flagged(self) -> bool:
        return bool(self.breaches)

    def describe(self) -> str:
        """`price (PSI 0.31 > 0.2, KS 0.18 > 0.1)`: what a person reads in a decision's reason."""
        return f"{self.name} ({', '.join(self.breaches)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "log_scale": self.log_scale,
            "flagged": self.flagged,
            "breaches": list(self.breaches),
            "note": self.note,
            **{key: _json_number(value) for key, value in self.figures.items()},
        }


@dataclass(frozen=True)
class DriftReport:
    reference_rows: int  # after subsampling
    current_rows: int
    features: tuple[FeatureDrift, ...] = field(default_factory=tuple)

    @property
    def flagged(self) -> tuple[FeatureDrift, ...]:
        return tuple(f for f in self.features if f.flagged)

    @property
    def drifted(self) -> bool:
        return bool(self.flagged)

    def drifted_features(self) -> list[DriftedFeature]:
        """The flagged features as the decision records them: largest effect over its threshold, breaches in words."""
        return [
            DriftedFeature(name=f.name, severity=float(f.figures.get("severity", 0.0)), breaches=[*f.breaches])
            for f in self.flagged
        ]

    def summary(self) -> str:
        """`price (PSI 0.31 > 0.2), house_size (KS 0.18 > 0.1)`, or "" when nothing is flagged."""
        return ", ".join(f.describe() for f in self.flagged)

    def feature(self, name: str) -> FeatureDrift:
        for item in self.features:
            if item.name == name:
                return item
        raise KeyError(f"No drift figures for feature {name!r}; known: {[f.name for f in self.features]}.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "flagged": [f.name for f in self.flagged],
            "features": {f.name: f.to_dict() for f in self.features},
        }


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, config: DriftConfig) -> DriftReport:
    """Compare `current` (a batch) with `reference` (the production model's training rows).

    `config` is configs/drift.yaml. Features missing from `current` are skipped (a request log
    has no price), and so is the target when none of its values are present.
    """
    if reference.empty:
        raise ValueError("The drift reference is empty: train a model first, or compare against a stored batch.")
    reference = _subsample(reference, config.reference)
    rules = _Rules.from_config(config)
    results: list[FeatureDrift] = []
    for name in config.numeric.features:
        if _present(name, reference, current):
            log_scale = name in config.numeric.log_scale
            results.append(_numeric_drift(name, reference[name], current[name], log_scale, rules))
    for name in config.categorical.features:
        if _present(name, reference, current):
            results.append(_categorical_drift(name, reference[name], current[name], rules))
    return DriftReport(reference_rows=len(reference), current_rows=len(current), features=tuple(results))


@dataclass(frozen=True)
class _Rules:
    significance: float
    min_rows: int
    missing_change: float
    bins: int
    epsilon: float
    numeric_psi: float
    ks: float
    top_k: int
    min_category_rows: int
    categorical_psi: float
    unseen_excess: float

    @classmethod
    def from_config(cls, config: DriftConfig) -> _Rules:
        numeric, categorical = config.numeric, config.categorical
        return cls(
            significance=config.significance,
            min_rows=config.min_rows,
            missing_change=config.missing_rate.change,
            bins=numeric.bins,
            epsilon=config.psi_epsilon,
            numeric_psi=numeric.psi,
            ks=numeric.ks,
            top_k=categorical.top_k,
            min_category_rows=categorical.min_category_rows,
            categorical_psi=categorical.psi,
            unseen_excess=categorical.unseen_excess,
        )


def _subsample(reference: pd.DataFrame, settings: ReferenceSample) -> pd.DataFrame:
    if len(reference) <= settings.sample_size:
        return reference
    return reference.sample(n=settings.sample_size, random_state=settings.seed)


def _present(name: str, reference: pd.DataFrame, current: pd.DataFrame) -> bool:
    if name not in reference.columns or name not in current.columns:
        return False
    return name != TARGET or bool(current[name].notna().any())


def _numeric_drift(name: str, ref: pd.Series, cur: pd.Series, log_scale: bool, rules: _Rules) -> FeatureDrift:
    ref_values, cur_values = _numeric_values(ref, log_scale), _numeric_values(cur, log_scale)
    figures = {"n_reference": float(ref_values.size), "n_current": float(cur_values.size)}
    breaches = _missing_rate_breaches(ref, cur, rules, figures)
    if min(ref_values.size, cur_values.size) < rules.min_rows:
        return FeatureDrift(name, "numeric", _scored(figures, rules), tuple(breaches), log_scale, _too_few(rules))
    ks = stats.ks_2samp(ref_values, cur_values, method="asymp")
    psi = _psi(*_quantile_bin_counts(ref_values, cur_values, rules.bins), rules.epsilon)
    figures |= {"ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue), "psi": psi}
    if ks.pvalue < rules.significance:
        if psi > rules.numeric_psi:
            breaches.append(f"PSI {beyond(psi, rules.numeric_psi)}")
        if ks.statistic > rules.ks:
            breaches.append(f"KS {beyond(float(ks.statistic), rules.ks)}")
    return FeatureDrift(name, "numeric", _scored(figures, rules), tuple(breaches), log_scale)


def _categorical_drift(name: str, ref: pd.Series, cur: pd.Series, rules: _Rules) -> FeatureDrift:
    ref_values, cur_values = _category_values(ref), _category_values(cur)
    figures = {"n_reference": float(ref_values.size), "n_current": float(cur_values.size)}
    breaches = _missing_rate_breaches(ref, cur, rules, figures)
    if min(ref_values.size, cur_values.size) < rules.min_rows:
        return FeatureDrift(name, "categorical", _scored(figures, rules), tuple(breaches), note=_too_few(rules))

    ref_counts = ref_values.value_counts()
    # Only categories frequent in the reference get a bin of their own: the top of a small sample is
    # the top partly by luck, and its luck would read as a shift in every batch (winner's curse).
    top = ref_counts.index[: rules.top_k][ref_counts.iloc[: rules.top_k] >= rules.min_category_rows]
    ref_bins = _binned_counts(ref_counts, top)
    cur_bins = _binned_counts(cur_values.value_counts(), top)
    psi = _psi(ref_bins, cur_bins, rules.epsilon)
    shift_pvalue = _chi2_pvalue(ref_bins, cur_bins)

    unseen_share = float((~cur_values.isin(ref_counts.index)).mean())
    expected_unseen, unseen_pvalue = _unseen_expectation(ref_counts, unseen_share, cur_values.size)
    figures |= {
        "psi": psi,
        "shift_pvalue": shift_pvalue,
        "unseen_share": unseen_share,
        "expected_unseen_share": expected_unseen,
        "unseen_pvalue": unseen_pvalue,
    }
    if psi > rules.categorical_psi and shift_pvalue < rules.significance:
        breaches.append(f"PSI {beyond(psi, rules.categorical_psi)}")
    excess = unseen_share - expected_unseen
    if excess > rules.unseen_excess and unseen_pvalue < rules.significance:
        breaches.append(
            f"{unseen_share:.1%} of rows in categories never seen, {expected_unseen:.1%} expected "
            f"(excess > {rules.unseen_excess:.0%})"
        )
    return FeatureDrift(name, "categorical", _scored(figures, rules), tuple(breaches))


def beyond(value: float, limit: float, digits: int = 2) -> str:
    """`0.071 > 0.07`: the value with as many decimals as it takes to read larger than its limit.

    A breach rounded to the limit's own digits would read "KS 0.07 > 0.07".
    """
    while digits < 6 and round(value, digits) <= limit:
        digits += 1
    return f"{value:.{digits}f} > {limit:g}"


def _unseen_expectation(ref_counts: pd.Series, unseen_share: float, n_current: int) -> tuple[float, float]:
    """Good-Turing share of rows in categories the reference never saw, and the p-value of `unseen_share`.

    The singletons' share of the reference estimates how often a fresh row from the same distribution
    brings a new category (high for zip codes, ~0 for states). The test allows for the estimate's own
    uncertainty (Esty, 1983) as well as the batch's, so small references do not flag noise.
    """
    n = float(ref_counts.sum())
    singletons, doubletons = float((ref_counts == 1).sum()), float((ref_counts == 2).sum())
    expected = singletons / n
    variance = (singletons * (1 - expected) + 2 * doubletons) / n**2 + unseen_share * (1 - unseen_share) / n_current
    if variance <= 0:
        return expected, 0.0 if unseen_share > expected else 1.0
    return expected, float(stats.norm.sf((unseen_share - expected) / math.sqrt(variance)))


def _numeric_values(series: pd.Series, log_scale: bool) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    # Prices and areas span six orders of magnitude: compare them as a model sees them, on log scale.
    return np.log1p(np.clip(values, 0.0, None)) if log_scale else values


def _category_values(series: pd.Series) -> pd.Series:
    # Plain Python strings: pandas' Arrow-backed strings make `isin` and `value_counts` much slower here.
    return pd.Series(series.dropna().astype(str).to_numpy(dtype=object), dtype=object)


def _quantile_bin_counts(ref: np.ndarray, cur: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    # Integer-valued features (bed, bath) repeat quantiles: unique edges merge those bins.
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    n_bins = edges.size + 1
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=n_bins)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=n_bins)
    return ref_counts, cur_counts


def _binned_counts(counts: pd.Series, top: pd.Index) -> np.ndarray:
    binned = counts.reindex(top, fill_value=0).to_numpy()
    return np.append(binned, counts.sum() - binned.sum())  # the last bin is every other category


def _psi(ref_counts: np.ndarray, cur_counts: np.ndarray, epsilon: float) -> float:
    """Population stability index; epsilon keeps an empty bin on either side from making it infinite."""
    ref_share = np.clip(ref_counts / ref_counts.sum(), epsilon, None)
    cur_share = np.clip(cur_counts / cur_counts.sum(), epsilon, None)
    ref_share, cur_share = ref_share / ref_share.sum(), cur_share / cur_share.sum()
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def _chi2_pvalue(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    table = np.vstack([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table).pvalue)


def _missing_rate_breaches(ref: pd.Series, cur: pd.Series, rules: _Rules, figures: dict[str, float]) -> list[str]:
    if cur.empty:  # a batch whose every row was quarantined still gets a report (and a decision)
        figures |= {"missing_rate_reference": float(ref.isna().mean()), "missing_rate_current": 0.0}
        return []
    ref_rate, cur_rate = float(ref.isna().mean()), float(cur.isna().mean())
    pvalue = _two_proportion_pvalue(ref_rate, ref.size, cur_rate, cur.size)
    figures |= {"missing_rate_reference": ref_rate, "missing_rate_current": cur_rate, "missing_pvalue": pvalue}
    if abs(cur_rate - ref_rate) > rules.missing_change and pvalue < rules.significance:
        return [f"missing {cur_rate:.0%} vs {ref_rate:.0%} (change > {rules.missing_change * 100:g} pts)"]
    return []


def _two_proportion_pvalue(p1: float, n1: int, p2: float, n2: int) -> float:
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) if n1 and n2 else 0.0
    if spread == 0.0:
        return 1.0 if p1 == p2 else 0.0
    return float(2 * stats.norm.sf(abs(p1 - p2) / spread))


def _scored(figures: dict[str, float], rules: _Rules) -> dict[str, float]:
    """Add `severity`: the largest effect over its threshold (1 = at the threshold), one number to plot."""
    missing_change = abs(figures["missing_rate_current"] - figures["missing_rate_reference"])
    ratios = [missing_change / rules.missing_change]
    if "ks_statistic" in figures:
        ratios += [figures["psi"] / rules.numeric_psi, figures["ks_statistic"] / rules.ks]
    if "unseen_share" in figures:
        excess = figures["unseen_share"] - figures["expected_unseen_share"]
        ratios += [figures["psi"] / rules.categorical_psi, max(excess, 0.0) / rules.unseen_excess]
    return figures | {"severity": max(ratios)}


def _too_few(rules: _Rules) -> str:
    return f"fewer than {rules.min_rows} values on one side: not judged"


def _json_number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
