"""Statistics of a comparison: intervals, paired differences, effect sizes, CRN gain, findings.

Every number here is computed from the tidy ``runs`` table (one row per setting x
replication), so a stored comparison yields the same statistics when rebuilt.

No interval can be impossible: a share's level has a logit-scale t interval (Wilson's for a
share of runs), other levels a t interval cut at zero where values cannot be negative; a
difference is always B minus A (the setting listed second minus the first), cut to
[-1, 1] for shares; the ratio B / A has Fieller's interval from the same t statistic, so
difference and ratio are never judged differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20_260_101
DIFFERENCE_COLUMNS = ["setting_a", "setting_b", "metric", "n_a", "n_b", "paired", "mean_a",
                      "mean_b", "difference", "ci_low", "ci_high", "effect_size", "ratio",
                      "ratio_low", "ratio_high", "se_common", "se_independent", "clear"]
MAX_RATIO_WORDING = 10.0  # beyond this a ratio of a near-zero level says little; give levels


@dataclass(frozen=True)
class ReportMetric:
    """How a summary metric is named and shown to a client.

    ``per``: what a share counts ("in every 100 staff", "of ideas"); ``better``: +1 if more
    is better for the organization, -1 if less is, 0 if neither (used only to say where
    findings point in opposite directions); ``relevance``: weight in the summary's ranking;
    ``unit``: the unit of a non-share number in plain words; ``size_dependent``: a raw count
    that grows with the organization (compared only between settings of one size).
    """

    name: str
    label: str
    kind: str  # "share" (0-1, shown as %), "steps", "count" or "index" (0-1 scale)
    meaning: str
    conditional: bool = False  # defined only in runs where it happened (missing otherwise)
    per: str = "staff"
    better: int = 0
    relevance: float = 0.5
    unit: str = ""
    size_dependent: bool = False
    binary: bool = False  # 0 or 1 in each run: a proportion of runs (Wilson interval)
    nonnegative: bool = True  # never below zero (an interval is cut at zero)


REPORT_METRICS: tuple[ReportMetric, ...] = (
    ReportMetric("hidden_coasting_share", "Hidden coasting", "share",
                 "employees doing little while nobody who could act notices", better=-1,
                 relevance=1.0),
    ReportMetric("coasting_share", "Coasting (noticed or hidden)", "share",
                 "employees whose effort is below the coasting threshold", better=-1,
                 relevance=0.6),
    ReportMetric("mean_time_hidden", "Time a coasting spell stays hidden", "steps",
                 "mean weeks from the start of a coasting spell until someone able to act "
                 "notices it", better=-1, relevance=0.6, unit="weeks"),
    ReportMetric("probe_share_26w", "Share of staff using a good idea half a year after its "
                 "birth", "share", "share of employees using the tracer good idea 26 weeks "
                 "after a customer-facing employee conceived it (every run counts)", better=1,
                 relevance=0.9),
    ReportMetric("probe_share_52w", "Share of staff using a good idea a year after its birth",
                 "share", "share of employees using the tracer good idea 52 weeks after its "
                 "birth (every run counts)", better=1, relevance=0.8),
    ReportMetric("probe_adoption_auc", "Mean share using a good idea over its first year",
                 "share", "mean share of employees using the tracer good idea over the 52 "
                 "weeks after its birth (every run counts)", better=1, relevance=0.7),
    ReportMetric("probe_reached_half", "Chance a good idea reaches half the staff", "share",
                 "share of runs in which the tracer good idea reached 50% use", per="runs",
                 better=1, relevance=0.7, binary=True),
    ReportMetric("probe_final_share", "Reach of a good idea by the end", "share",
                 "share of employees using the tracer good idea at the end of the run",
                 better=1, relevance=0.5),
    ReportMetric("ideas_per_employee_year", "Ideas per employee per year", "index",
                 "ideas born at the customer interface per employee per year (a step is a "
                 "week)", better=1, relevance=0.8, unit="ideas per employee per year"),
    ReportMetric("ideas_generated", "Number of ideas born at the customer interface", "count",
                 "ideas employees produced during the run", better=1, relevance=0.3,
                 unit="ideas", size_dependent=True),
    ReportMetric("ideas_squashed_share", "Share of all ideas born that were squashed", "share",
                 "ideas turned down in approval, out of all ideas born (also those never "
                 "put to a decision)", per="ideas born", better=-1, relevance=0.5),
    ReportMetric("ideas_squashed_of_decided", "Share of decided ideas that were squashed",
                 "share", "ideas turned down in approval, out of the ideas that were either "
                 "turned down or sanctioned", conditional=True, per="ideas decided",
                 better=-1, relevance=0.4),
    ReportMetric("ideas_adopted_widely_share", "Share of ideas adopted widely", "share",
                 "share of ideas born that reached half the organization", per="ideas born",
                 better=1, relevance=0.6),
    ReportMetric("mean_adopted_idea_value", "Value of adopted ideas", "index",
                 "mean value (gain in fit to customer needs) of ideas taken up", better=1,
                 relevance=0.5, unit="gain in fit per idea"),
    ReportMetric("mean_commitment", "Commitment", "index", "mean commitment (0-1)", better=1,
                 relevance=0.8, unit="on a 0-1 scale"),
    ReportMetric("output", "Output per employee", "index",
                 "mean effort x skill x fit of practices to customer needs, per employee per "
                 "week", better=1, relevance=0.8, unit="per employee per week"),
    ReportMetric("mean_fit", "Fit of practices to customer needs", "share",
                 "share of customer-need dimensions employees' practices get right",
                 per="aspects of customer needs", better=1, relevance=0.5),
    ReportMetric("cross_unit_conversation_share", "Share of conversations across units", "share",
                 "share of conversations that cross unit boundaries", per="conversations",
                 relevance=0.3),
    ReportMetric("informal_leader_overlap", "Overlap of informal and formal leaders", "share",
                 "share of the most sought-after employees who hold a formal leader role",
                 per="sought-after employees", relevance=0.3),
)
METRIC_BY_NAME = {m.name: m for m in REPORT_METRICS}


def fmt(value: float, kind: str) -> str:
    """A number as a client reads it."""
    if value is None or not np.isfinite(value):
        return "n/a"
    value = float(value) + 0.0  # no "-0.0"
    if kind == "share":
        return f"{round(100 * value, 1) + 0.0:.1f}%"
    if kind in ("steps", "count"):
        return f"{round(value) + 0.0:.0f}" if abs(value) >= 10 else f"{round(value, 1) + 0.0:.1f}"
    return f"{round(value, 3) + 0.0:.3f}"


def fmt_difference(value: float, kind: str) -> str:
    """A difference, with its unit (percentage points for shares)."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if kind == "share":
        return f"{100 * value + 0.0:+.1f} points"
    return ("+" if value >= 0 else "") + fmt(value, kind)


def fmt_unit(value: float, metric: ReportMetric) -> str:
    """A level with its unit ('12.0%', '5.3 weeks', '0.552 on a 0-1 scale')."""
    text = fmt(value, metric.kind)
    return f"{text} {metric.unit}" if metric.unit and text != "n/a" else text


def fmt_change(value: float, metric: ReportMetric) -> str:
    """A difference with its unit ('+3.1 points', '-0.8 weeks', '+0.193')."""
    text = fmt_difference(value, metric.kind)
    if metric.kind == "steps" and text != "n/a":
        return f"{text} weeks"
    return text


def setting_label(name: str) -> str:
    """A setting's name as a plain label: 'shared_authority' -> 'Shared authority'."""
    words = " ".join(str(name).replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:] if words else str(name)


def with_derived_metrics(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs plus metrics derived from the summaries: whether the tracer idea took off (for
    runs stored before ``probe_reached_half`` was a summary key) and the share of decided
    ideas that were squashed (squashed / (squashed + sanctioned); missing where no idea was
    decided)."""
    derived = {}
    if "time_to_50pct_adoption" in runs and "probe_reached_half" not in runs:
        reached = pd.to_numeric(runs["time_to_50pct_adoption"], errors="coerce").notna()
        derived["probe_reached_half"] = reached.astype(float)
    if {"ideas_squashed_share", "ideas_sanctioned_share"} <= set(runs) and \
            "ideas_squashed_of_decided" not in runs:
        squashed = pd.to_numeric(runs["ideas_squashed_share"], errors="coerce")
        decided = squashed + pd.to_numeric(runs["ideas_sanctioned_share"], errors="coerce")
        derived["ideas_squashed_of_decided"] = (squashed / decided.where(decided > 0)
                                                ).astype(float)
    return runs.assign(**derived) if derived else runs


def _info(metric: str) -> ReportMetric:
    return METRIC_BY_NAME.get(metric, ReportMetric(metric, metric, "index", ""))


def mean_interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, standard deviation and t-based 95% interval of the mean."""
    values = values[np.isfinite(values)]
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    sd = float(values.std(ddof=1)) if n > 1 else np.nan
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
    return mean, sd, mean - half, mean + half


def logit_interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean of per-run shares (each in [0, 1]), standard deviation and a 95% interval that
    stays inside [0, 1].

    The t interval is built on the logit scale by the delta method,
    logit(m) +- t(n-1) x se / (m (1 - m)), and mapped back by the logistic function. Why: a
    plain t interval (m +- t se) of a few runs near 0 or 1 leaves [0, 1] ("80% [50%, 110%]");
    the logit interval cannot. Far from the bounds it equals the t interval (the logit is
    nearly linear there); near a bound it is asymmetric, longer toward the middle, where
    the uncertainty lies. A mean of exactly 0 or 1 means every run gave 0 (or 1): the runs'
    spread is nil and so is the interval, as it is for the t interval.
    """
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return np.nan, np.nan, np.nan, np.nan
    mean = float(min(max(values.mean(), 0.0), 1.0))
    if n < 2:
        return mean, np.nan, np.nan, np.nan
    sd = float(values.std(ddof=1))
    if sd == 0 or mean <= 0 or mean >= 1:
        return mean, sd, mean, mean
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * sd / np.sqrt(n) / (mean * (1 - mean))
    centre = np.log(mean / (1 - mean))
    return mean, sd, float(expit(centre - half)), float(expit(centre + half))


def wilson_interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """Share of runs in which something happened (each value 0 or 1), standard deviation and
    Wilson's 95% score interval: inside [0, 1], and informative at 0 of n or n of n (0 of 5
    runs gives 0% to 43%), where a t (Wald) interval collapses to a point."""
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return np.nan, np.nan, np.nan, np.nan
    p = float(values.mean())
    sd = float(values.std(ddof=1)) if n > 1 else np.nan
    z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    # Wilson's interval always holds p; min/max only undo rounding at 0 of n and n of n
    return p, sd, float(min(max(centre - half, 0.0), p)), float(max(min(centre + half, 1.0), p))


def interval_method(metric: str) -> str:
    """Which interval a metric's level gets (see :func:`metric_interval`)."""
    info = _info(metric)
    if info.kind == "share":
        return "Wilson" if info.binary else "logit t"
    return "t"


def metric_interval(metric: str, values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, sd and 95% interval of one metric over runs: Wilson for a share of runs, a
    logit-scale t interval for a mean of per-run shares, a t interval otherwise."""
    method = interval_method(metric)
    if method == "Wilson":
        return wilson_interval(values)
    if method == "logit t":
        return logit_interval(values)
    mean, sd, low, high = mean_interval(values)
    if _info(metric).nonnegative and np.isfinite(low):
        low = max(low, 0.0)  # the intersection with the possible values keeps the coverage
    return mean, sd, low, high


def setting_intervals(runs: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean and 95% interval of each metric under each setting (tidy: one row each).

    ``missing`` counts runs where a conditional metric did not happen (left out).
    """
    rows = []
    for setting, group in runs.groupby("setting", sort=False, observed=True):
        for metric in metrics:
            values = pd.to_numeric(group[metric], errors="coerce").to_numpy(dtype=float)
            mean, sd, low, high = metric_interval(metric, values)
            rows.append({"setting": setting, "metric": metric,
                         "n": int(np.isfinite(values).sum()), "mean": mean, "sd": sd,
                         "ci_low": low, "ci_high": high, "interval": interval_method(metric),
                         "missing": int((~np.isfinite(values)).sum())})
    return pd.DataFrame(rows)


def setting_sizes(runs: pd.DataFrame) -> dict[str, int]:
    """Each setting's own number of employees (from its runs)."""
    if "employees" not in runs:
        return {}
    sizes = runs.groupby("setting", sort=False, observed=True)["employees"].max()
    return {str(k): int(v) for k, v in sizes.items()}


def comparable_metrics(runs: pd.DataFrame, metrics: list[str]) -> list[str]:
    """The metrics that may be compared across settings: where settings differ in size,
    raw counts are left out (the per-employee figures stay)."""
    if len(set(setting_sizes(runs).values())) <= 1:
        return list(metrics)
    return [m for m in metrics if not _info(m).size_dependent]


def _values_by_replication(runs: pd.DataFrame, metric: str, a: str, b: str
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Values under settings a and b, aligned by replication (common seed); NaN if missing."""
    values = pd.to_numeric(runs[metric], errors="coerce").astype(float)
    wide = runs.assign(value=values).pivot(index="replication", columns="setting",
                                           values="value")
    return wide[a].to_numpy(), wide[b].to_numpy()


def _fieller(mean_a: float, mean_b: float, var_a: float, var_b: float, cov_ab: float,
             t: float) -> tuple[float, float]:
    """Fieller's interval for mean_b / mean_a: the ratios r with |mean_b - r mean_a| <= t x
    se(b - r a) (var_* and cov_ab are variances and the covariance of the two means); NaN
    where that set is unbounded (mean_a not clearly away from zero)."""
    qa = mean_a**2 - t**2 * var_a
    qb = mean_a * mean_b - t**2 * cov_ab
    qc = mean_b**2 - t**2 * var_b
    if not np.isfinite(qa) or qa <= 0:
        return np.nan, np.nan
    root = np.sqrt(max(qb**2 - qa * qc, 0.0))
    return float((qb - root) / qa), float((qb + root) / qa)


def welch_df(var_a: float, var_b: float, n_a: int, n_b: int) -> float:
    """Welch-Satterthwaite degrees of freedom (var_*: variances of the two means)."""
    if var_a + var_b <= 0:
        return float(n_a + n_b - 2)
    return (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))


def ratio_interval(a: np.ndarray, b: np.ndarray, paired: bool = True
                   ) -> tuple[float, float, float]:
    """Ratio of means b/a with Fieller's 95% interval (NaN where undefined or unbounded).

    Judged by the same method as the difference b - a: Fieller's interval is the set of
    ratios r for which b - r a is not clearly different from zero by the very t statistic
    (paired, or Welch's) of the difference; at r = 1 that is the difference's own test, so
    the ratio interval holds 1 exactly when the difference interval holds 0.
    """
    if paired:
        keep = np.isfinite(a) & np.isfinite(b)
        a, b = a[keep], b[keep]
    else:
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2 or a.mean() <= 0 or b.mean() <= 0 or (a < 0).any() \
            or (b < 0).any():
        return np.nan, np.nan, np.nan
    n_a, n_b = len(a), len(b)
    if paired:
        cov = np.cov(a, b, ddof=1)
        var_a, var_b, cov_ab, df = cov[0, 0] / n_a, cov[1, 1] / n_a, cov[0, 1] / n_a, n_a - 1
    else:
        var_a, var_b, cov_ab = a.var(ddof=1) / n_a, b.var(ddof=1) / n_b, 0.0
        df = welch_df(var_a, var_b, n_a, n_b)
    t = stats.t.ppf(0.5 + CONFIDENCE / 2, df)
    low, high = _fieller(float(a.mean()), float(b.mean()), var_a, var_b, cov_ab, t)
    if np.isfinite(low):  # a ratio of non-negative values: the cut keeps the coverage
        low = max(low, 0.0)
    return float(b.mean() / a.mean()), low, high


def _comparison(a: np.ndarray, b: np.ndarray, mean: float, low: float, high: float,
                se_common: float, paired: bool, bounds: tuple[float, float] | None
                ) -> dict[str, float]:
    n_a, n_b = len(a), len(b)
    var_a = a.var(ddof=1) if n_a > 1 else np.nan
    var_b = b.var(ddof=1) if n_b > 1 else np.nan
    se_independent = np.sqrt(var_a / n_a + var_b / n_b) if n_a > 1 and n_b > 1 else np.nan
    pooled = np.sqrt((var_a + var_b) / 2)
    effect = mean / pooled if pooled > 0 else (0.0 if mean == 0 else np.nan)
    ratio, ratio_low, ratio_high = ratio_interval(a, b, paired)
    if bounds is not None and np.isfinite(low):  # see pairwise_differences
        low, high = max(low, bounds[0]), min(high, bounds[1])
    clear = bool(np.isfinite(low) and (low > 0 or high < 0))
    if np.isfinite(ratio_low) and np.isfinite(ratio_high):
        # Fieller's interval holds 1 exactly when the difference's holds 0; where the two
        # meet at the boundary, rounding of the quadratic's roots must not split them
        if not clear:
            ratio_low, ratio_high = min(ratio_low, 1.0), max(ratio_high, 1.0)
        elif mean > 0:
            ratio_low = max(ratio_low, float(np.nextafter(1.0, 2.0)))
        else:
            ratio_high = min(ratio_high, float(np.nextafter(1.0, 0.0)))
    return {"n_a": n_a, "n_b": n_b, "paired": paired,
            "mean_a": float(a.mean()) if n_a else np.nan,
            "mean_b": float(b.mean()) if n_b else np.nan, "difference": mean,
            "ci_low": low, "ci_high": high, "effect_size": effect, "ratio": ratio,
            "ratio_low": ratio_low, "ratio_high": ratio_high, "se_common": se_common,
            "se_independent": se_independent, "clear": clear}


def paired_difference(a: np.ndarray, b: np.ndarray,
                      bounds: tuple[float, float] | None = None) -> dict[str, float]:
    """Difference b - a over replications paired by seed: t interval, effect size, CRN gain.

    ``se_independent`` is the standard error the same runs would have had with independent
    seeds (sqrt(var_a/n + var_b/n)); ``se_common`` comes from the paired differences.
    ``bounds``: the values the difference can take (the interval is cut to them).
    """
    mean, sd_diff, low, high = mean_interval(b - a)
    se_common = sd_diff / np.sqrt(len(a)) if len(a) > 1 else np.nan
    return _comparison(a, b, mean, low, high, se_common, paired=True, bounds=bounds)


def welch_difference(a: np.ndarray, b: np.ndarray,
                     bounds: tuple[float, float] | None = None) -> dict[str, float]:
    """Difference b - a of two independent samples: Welch t interval and effect size."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return _comparison(a, b, np.nan, np.nan, np.nan, np.nan, paired=False, bounds=None)
    result = stats.ttest_ind(b, a, equal_var=False)
    interval = result.confidence_interval(CONFIDENCE)
    return _comparison(a, b, float(b.mean() - a.mean()), float(interval.low),
                       float(interval.high), np.nan, paired=False, bounds=bounds)


def pairwise_differences(runs: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Every pair of settings (a listed before b) and metric: b - a ("B minus A"), tidy.

    A difference of two shares lies in [-1, 1]; its interval is cut to that range. The
    cut keeps the interval's coverage (the true difference is inside [-1, 1] too) and
    changes no verdict (zero and the estimate stay where they were).
    """
    settings = [s for s in runs["setting"].cat.categories if (runs["setting"] == s).any()] \
        if hasattr(runs["setting"], "cat") else list(dict.fromkeys(runs["setting"]))
    rows = []
    for a, b in combinations(settings, 2):
        for metric in metrics:
            values_a, values_b = _values_by_replication(runs, metric, a, b)
            bounds = (-1.0, 1.0) if _info(metric).kind == "share" else None
            compared = (welch_difference(values_a, values_b, bounds)
                        if _info(metric).conditional
                        else paired_difference(values_a, values_b, bounds))
            rows.append({"setting_a": a, "setting_b": b, "metric": metric, **compared})
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def effect_label(effect: float) -> str:
    """Cohen's conventional words for a standardized difference."""
    size = abs(effect)
    if not np.isfinite(size):
        return "undefined"
    return ("negligible" if size < 0.2 else "small" if size < 0.5 else "medium"
            if size < 0.8 else "large")


def _runs_words(row: pd.Series) -> str:
    if row["paired"]:
        return f"{int(row['n_b'])} runs each, paired by seed"
    return (f"{int(row['n_b'])} and {int(row['n_a'])} runs in which it happened, "
            "unpaired")


def _direction(metric: ReportMetric, difference: float) -> str:
    if metric.kind == "steps":
        return "longer" if difference > 0 else "shorter"
    return "higher" if difference > 0 else "lower"


def finding(row: pd.Series) -> str:
    """One sentence for one pair and metric, from its numbers only. Every difference is
    "B minus A" (the setting listed second minus the one listed first) and the sentence
    reads the same way round: B first, then A."""
    metric = _info(row["metric"])
    a, b, kind = setting_label(row["setting_a"]), setting_label(row["setting_b"]), metric.kind
    levels = (f"{fmt_unit(row['mean_b'], metric)} under {b} vs "
              f"{fmt_unit(row['mean_a'], metric)} under {a}")
    if not np.isfinite(row["ci_low"]):
        return f"{metric.label}: too few runs to compare {b} with {a} ({levels})."
    diff = (f"{b} minus {a}: {fmt_change(row['difference'], metric)} (95% CI "
            f"{fmt_difference(row['ci_low'], kind)} to {fmt_change(row['ci_high'], metric)})")
    if not row["clear"]:
        return (f"{metric.label}: no clear difference, {levels}; {diff}, an interval that "
                f"includes zero; {_runs_words(row)}.")
    ratio = ""
    r, low, high = row["ratio"], row["ratio_low"], row["ratio_high"]
    if np.isfinite(low) and np.isfinite(high) and low > 0 and \
            1 / MAX_RATIO_WORDING <= r <= MAX_RATIO_WORDING:
        digits = 2 if high < 2 else 1
        ratio = (f"; {b} / {a} = {r:.{digits}f} (95% CI {low:.{digits}f} to "
                 f"{high:.{digits}f})")
    return (f"{metric.label} is {_direction(metric, row['difference'])} under {b} than under "
            f"{a}: {levels}; {diff}{ratio}; {_runs_words(row)}.")


def findings(differences: pd.DataFrame) -> pd.DataFrame:
    """One sentence per pair and metric (tidy): clear differences first, in metric order."""
    order = {m.name: i for i, m in enumerate(REPORT_METRICS)}
    ordered = differences.assign(rank=differences["metric"].map(order).fillna(len(order)))
    ordered = ordered.sort_values(["clear", "rank"], ascending=[False, True], kind="stable")
    return pd.DataFrame({"setting_a": ordered["setting_a"], "setting_b": ordered["setting_b"],
                         "metric": ordered["metric"], "clear": ordered["clear"],
                         "sentence": [finding(row) for _, row in ordered.iterrows()]}
                        ).reset_index(drop=True)


def crn_gain(differences: pd.DataFrame) -> pd.DataFrame:
    """Per pair and metric: standard errors with common vs independent seeds, and the gain."""
    gain = differences[["setting_a", "setting_b", "metric", "paired", "se_common",
                        "se_independent"]].copy()
    ratio = gain["se_common"] / gain["se_independent"]
    gain["variance_ratio"] = ratio**2
    gain["runs_saved_share"] = 1 - ratio**2
    return gain


# --- time for a good idea to reach half the staff: Kaplan-Meier ----------------------
KM_COLUMNS = ["setting", "runs", "reached", "censored", "median", "ci_low", "ci_high",
              "horizon"]
KM_PAIR_COLUMNS = ["setting_a", "setting_b", "median_a", "median_b", "logrank_p", "clear"]


def time_to_half_durations(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run: steps from the tracer's birth to half the staff (``event`` 1), or to the end
    of the run where it never got there (``event`` 0, censored). Runs without a tracer are
    left out."""
    born = pd.to_numeric(runs["probe_born_step"], errors="coerce")
    reached = pd.to_numeric(runs["time_to_50pct_adoption"], errors="coerce")
    horizon = pd.to_numeric(runs["steps"], errors="coerce") - born
    frame = pd.DataFrame({"setting": runs["setting"].astype(str).to_numpy(),
                          "duration": reached.fillna(horizon).to_numpy(dtype=float),
                          "event": reached.notna().astype(int).to_numpy(),
                          "horizon": horizon.to_numpy(dtype=float)})
    return frame[born.notna().to_numpy()].reset_index(drop=True)


def kaplan_meier_median(durations: np.ndarray, events: np.ndarray
                        ) -> tuple[float, float, float]:
    """Kaplan-Meier median time to the event with its 95% interval (lifelines; the interval
    is where the pointwise exponential-Greenwood band of the survival curve crosses 0.5).
    ``inf`` where the curve (or its band) never falls to one half: censored runs count as
    having not got there yet, never as missing."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    if len(durations) == 0:
        return np.nan, np.nan, np.nan
    kmf = KaplanMeierFitter(alpha=1 - CONFIDENCE).fit(durations, events)
    band = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
    return float(kmf.median_survival_time_), float(band[0]), float(band[1])


def time_to_half_km(runs: pd.DataFrame) -> pd.DataFrame:
    """Per setting: Kaplan-Meier median time for the tracer to reach half the staff."""
    if not {"time_to_50pct_adoption", "probe_born_step", "steps"} <= set(runs.columns):
        return pd.DataFrame(columns=KM_COLUMNS)
    durations = time_to_half_durations(runs)
    rows = []
    for setting, group in durations.groupby("setting", sort=False):
        median, low, high = kaplan_meier_median(group["duration"].to_numpy(),
                                                group["event"].to_numpy())
        rows.append({"setting": setting, "runs": len(group), "reached": int(group["event"].sum()),
                     "censored": int((group["event"] == 0).sum()), "median": median,
                     "ci_low": low, "ci_high": high, "horizon": float(group["horizon"].max())})
    return pd.DataFrame(rows, columns=KM_COLUMNS)


def time_to_half_logrank(runs: pd.DataFrame) -> pd.DataFrame:
    """Every pair of settings: log-rank test of their times to half the staff."""
    from lifelines.statistics import logrank_test

    km = time_to_half_km(runs)
    if len(km) < 2:
        return pd.DataFrame(columns=KM_PAIR_COLUMNS)
    durations = time_to_half_durations(runs)
    medians = km.set_index("setting")["median"]
    rows = []
    for a, b in combinations(list(km["setting"]), 2):
        x, y = durations[durations["setting"] == a], durations[durations["setting"] == b]
        p = float(logrank_test(x["duration"], y["duration"], x["event"], y["event"]).p_value)
        rows.append({"setting_a": a, "setting_b": b, "median_a": medians[a],
                     "median_b": medians[b], "logrank_p": p, "clear": bool(p < 1 - CONFIDENCE)})
    return pd.DataFrame(rows, columns=KM_PAIR_COLUMNS)


def fmt_km(median: float, horizon: float) -> str:
    """A Kaplan-Meier median or bound in weeks: 'not within N weeks' where it is not
    reached."""
    if median is None or not np.isfinite(median):
        return f"not within {fmt(horizon, 'steps')} weeks" if np.isfinite(horizon) else "n/a"
    return f"{fmt(median, 'steps')} weeks"


def km_sentence(row: pd.Series, km: pd.DataFrame) -> str:
    """One sentence on the time to half the staff for a pair of settings, B first."""
    by = km.set_index("setting")

    def part(setting: str) -> str:
        r = by.loc[setting]
        return (f"{fmt_km(r['median'], r['horizon'])} under {setting_label(setting)} (95% CI "
                f"{fmt_km(r['ci_low'], r['horizon'])} to {fmt_km(r['ci_high'], r['horizon'])}; "
                f"reached in {int(r['reached'])} of {int(r['runs'])} runs)")

    verdict = ("a clear difference" if row["clear"] else "no clear difference")
    return (f"Time for a good idea to reach half the staff (Kaplan-Meier median, runs that never "
            f"got there counted as censored): {part(row['setting_b'])} vs "
            f"{part(row['setting_a'])}; {verdict} (log-rank p = {row['logrank_p']:.3g}).")


# --- are there enough replications? -----------------------------------------------------
ADEQUACY_COLUMNS = ["setting", "metric", "runs", "mean", "cv", "relative_half_width",
                    "cv_drift", "stable"]
CV_DRIFT_STABLE = 0.20


def replication_adequacy(runs: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per setting and metric: whether the replication count suffices.

    ``relative_half_width``: 95% CI half-width over |mean|. ``cv_drift``: the largest
    relative change of the running coefficient of variation over the last quarter of the
    runs (in replication order); under 20% the spread of runs has settled, so the interval
    narrows as 1/sqrt(R) with more runs and its estimate is not still moving.
    """
    rows = []
    for setting, group in runs.groupby("setting", sort=False, observed=True):
        group = group.sort_values("replication") if "replication" in group else group
        for metric in metrics:
            values = pd.to_numeric(group[metric], errors="coerce").to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            n = len(values)
            mean, sd, low, high = mean_interval(values)
            scale = abs(mean)
            cv = sd / scale if n > 1 and scale > 0 else np.nan
            half = (high - low) / 2 / scale if n > 1 and scale > 0 else np.nan
            drift = np.nan
            if n > 1 and sd == 0:  # every run gave the same value: nothing left to settle
                cv, half, drift = 0.0, 0.0, 0.0
            elif n >= 8 and scale > 0:
                start = n - max(2, n // 4)
                running = [np.std(values[:k], ddof=1) / abs(np.mean(values[:k]))
                           if np.mean(values[:k]) != 0 else np.nan for k in range(start, n + 1)]
                running = np.asarray(running)
                if np.isfinite(running).all() and running[-1] > 0:
                    drift = float(np.max(np.abs(running - running[-1])) / running[-1])
                elif np.isfinite(running).all():
                    drift = 0.0
            rows.append({"setting": setting, "metric": metric, "runs": n, "mean": mean,
                         "cv": cv, "relative_half_width": half, "cv_drift": drift,
                         "stable": bool(np.isfinite(drift) and drift < CV_DRIFT_STABLE)})
    return pd.DataFrame(rows, columns=ADEQUACY_COLUMNS)
