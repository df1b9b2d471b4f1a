"""Statistics of a comparison: intervals, paired differences, effect sizes, CRN gain, findings.

Every number here is computed from the tidy ``runs`` table (one row per setting x
replication), so a stored comparison yields the same statistics when rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20_260_101
DIFFERENCE_COLUMNS = ["setting_a", "setting_b", "metric", "n_a", "n_b", "paired", "mean_a",
                      "mean_b", "difference", "ci_low", "ci_high", "effect_size", "ratio",
                      "ratio_low", "ratio_high", "se_common", "se_independent", "clear"]
MAX_RATIO_WORDING = 10.0  # beyond this a ratio of a near-zero level says little; give levels


@dataclass(frozen=True)
class ReportMetric:
    """How a summary metric is named and shown to a client."""

    name: str
    label: str
    kind: str  # "share" (0-1, shown as %), "steps", "count" or "index" (0-1 scale)
    meaning: str
    conditional: bool = False  # defined only in runs where it happened (missing otherwise)


REPORT_METRICS: tuple[ReportMetric, ...] = (
    ReportMetric("hidden_coasting_share", "Hidden coasting", "share",
                 "employees doing little while nobody who could act notices"),
    ReportMetric("coasting_share", "Coasting (visible or hidden)", "share",
                 "employees whose effort is below the coasting threshold"),
    ReportMetric("mean_time_hidden", "Time a coasting spell stays hidden", "steps",
                 "mean steps from the start of a coasting spell until someone able to act "
                 "notices it"),
    ReportMetric("probe_share_26w", "Share of staff using a good idea half a year after its "
                 "birth", "share", "share of employees using the tracer good idea 26 weeks "
                 "after a customer-facing employee conceived it (every run counts)"),
    ReportMetric("probe_share_52w", "Share of staff using a good idea a year after its birth",
                 "share", "share of employees using the tracer good idea 52 weeks after its "
                 "birth (every run counts)"),
    ReportMetric("probe_adoption_auc", "Mean share using a good idea over its first year",
                 "share", "mean share of employees using the tracer good idea over the 52 "
                 "weeks after its birth (every run counts)"),
    ReportMetric("probe_reached_half", "Chance a good idea reaches half the staff", "share",
                 "share of runs in which the tracer good idea reached 50% use"),
    ReportMetric("probe_final_share", "Reach of a good idea by the end", "share",
                 "share of employees using the tracer good idea at the end of the run"),
    ReportMetric("ideas_per_employee_year", "Ideas per employee per year", "index",
                 "ideas born at the customer interface per employee per year (a step is a "
                 "week)"),
    ReportMetric("ideas_generated", "Number of ideas born at the customer interface", "count",
                 "ideas employees produced during the run"),
    ReportMetric("ideas_squashed_share", "Share of ideas squashed", "share",
                 "share of ideas turned down in approval"),
    ReportMetric("ideas_adopted_widely_share", "Share of ideas adopted widely", "share",
                 "share of ideas that reached half the organization"),
    ReportMetric("mean_adopted_idea_value", "Value of adopted ideas", "index",
                 "mean value (gain in fit to customer needs) of ideas taken up"),
    ReportMetric("mean_commitment", "Commitment", "index", "mean commitment (0-1)"),
    ReportMetric("output", "Output per employee", "index",
                 "mean effort x skill x fit of practices to customer needs"),
    ReportMetric("mean_fit", "Fit of practices to customer needs", "share",
                 "share of customer-need dimensions employees' practices get right"),
    ReportMetric("cross_unit_conversation_share", "Share of conversations across units", "share",
                 "share of conversations that cross unit boundaries"),
    ReportMetric("informal_leader_overlap", "Overlap of informal and formal leaders", "share",
                 "overlap of the most sought-after employees with formal leaders"),
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
    if kind == "share":
        return f"{100 * value:+.1f} pp"
    return ("+" if value >= 0 else "") + fmt(value, kind)


def with_derived_metrics(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs plus metrics derived from the summaries (whether the tracer idea took off, for
    runs stored before ``probe_reached_half`` was a summary key)."""
    if "time_to_50pct_adoption" not in runs or "probe_reached_half" in runs:
        return runs
    reached = pd.to_numeric(runs["time_to_50pct_adoption"], errors="coerce").notna()
    return runs.assign(probe_reached_half=reached.astype(float))


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


def setting_intervals(runs: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean and 95% interval of each metric under each setting (tidy: one row each).

    ``missing`` counts runs where a conditional metric did not happen (left out).
    """
    rows = []
    for setting, group in runs.groupby("setting", sort=False, observed=True):
        for metric in metrics:
            values = pd.to_numeric(group[metric], errors="coerce").to_numpy(dtype=float)
            mean, sd, low, high = mean_interval(values)
            rows.append({"setting": setting, "metric": metric,
                         "n": int(np.isfinite(values).sum()), "mean": mean, "sd": sd,
                         "ci_low": low, "ci_high": high,
                         "missing": int((~np.isfinite(values)).sum())})
    return pd.DataFrame(rows)


def _values_by_replication(runs: pd.DataFrame, metric: str, a: str, b: str
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Values under settings a and b, aligned by replication (common seed); NaN if missing."""
    values = pd.to_numeric(runs[metric], errors="coerce").astype(float)
    wide = runs.assign(value=values).pivot(index="replication", columns="setting",
                                           values="value")
    return wide[a].to_numpy(), wide[b].to_numpy()


def ratio_interval(a: np.ndarray, b: np.ndarray, paired: bool = True
                   ) -> tuple[float, float, float]:
    """Ratio of means b/a with a percentile-bootstrap 95% interval (NaN if undefined).

    Paired: replications are resampled together; otherwise each setting on its own.
    """
    if len(a) < 2 or len(b) < 2 or a.mean() <= 0 or b.mean() <= 0 or (a < 0).any() \
            or (b < 0).any():
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx_a = rng.integers(0, len(a), size=(BOOTSTRAP_RESAMPLES, len(a)))
    idx_b = idx_a if paired else rng.integers(0, len(b), size=(BOOTSTRAP_RESAMPLES, len(b)))
    mean_a, mean_b = a[idx_a].mean(axis=1), b[idx_b].mean(axis=1)
    if (mean_a <= 0).any() or (mean_b <= 0).any():
        return float(b.mean() / a.mean()), np.nan, np.nan
    low, high = np.quantile(mean_b / mean_a, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return float(b.mean() / a.mean()), float(low), float(high)


def _comparison(a: np.ndarray, b: np.ndarray, mean: float, low: float, high: float,
                se_common: float, paired: bool) -> dict[str, float]:
    n_a, n_b = len(a), len(b)
    var_a = a.var(ddof=1) if n_a > 1 else np.nan
    var_b = b.var(ddof=1) if n_b > 1 else np.nan
    se_independent = np.sqrt(var_a / n_a + var_b / n_b) if n_a > 1 and n_b > 1 else np.nan
    pooled = np.sqrt((var_a + var_b) / 2)
    effect = mean / pooled if pooled > 0 else (0.0 if mean == 0 else np.nan)
    ratio, ratio_low, ratio_high = ratio_interval(a, b, paired)
    return {"n_a": n_a, "n_b": n_b, "paired": paired,
            "mean_a": float(a.mean()) if n_a else np.nan,
            "mean_b": float(b.mean()) if n_b else np.nan, "difference": mean,
            "ci_low": low, "ci_high": high, "effect_size": effect, "ratio": ratio,
            "ratio_low": ratio_low, "ratio_high": ratio_high, "se_common": se_common,
            "se_independent": se_independent,
            "clear": bool(np.isfinite(low) and (low > 0 or high < 0))}


def paired_difference(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Difference b - a over replications paired by seed: t interval, effect size, CRN gain.

    ``se_independent`` is the standard error the same runs would have had with independent
    seeds (sqrt(var_a/n + var_b/n)); ``se_common`` comes from the paired differences.
    """
    mean, sd_diff, low, high = mean_interval(b - a)
    se_common = sd_diff / np.sqrt(len(a)) if len(a) > 1 else np.nan
    return _comparison(a, b, mean, low, high, se_common, paired=True)


def welch_difference(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Difference b - a of two independent samples: Welch t interval and effect size."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return _comparison(a, b, np.nan, np.nan, np.nan, np.nan, paired=False)
    result = stats.ttest_ind(b, a, equal_var=False)
    interval = result.confidence_interval(CONFIDENCE)
    return _comparison(a, b, float(b.mean() - a.mean()), float(interval.low),
                       float(interval.high), np.nan, paired=False)


def pairwise_differences(runs: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Every pair of settings (a listed before b) and metric: b - a, tidy."""
    settings = [s for s in runs["setting"].cat.categories if (runs["setting"] == s).any()] \
        if hasattr(runs["setting"], "cat") else list(dict.fromkeys(runs["setting"]))
    rows = []
    for a, b in combinations(settings, 2):
        for metric in metrics:
            values_a, values_b = _values_by_replication(runs, metric, a, b)
            compared = (welch_difference(values_a, values_b) if _info(metric).conditional
                        else paired_difference(values_a, values_b))
            rows.append({"setting_a": a, "setting_b": b, "metric": metric, **compared})
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def effect_label(effect: float) -> str:
    """Cohen's conventional words for a standardized difference."""
    size = abs(effect)
    if not np.isfinite(size):
        return "undefined"
    return ("negligible" if size < 0.2 else "small" if size < 0.5 else "medium"
            if size < 0.8 else "large")


def finding(row: pd.Series) -> str:
    """One plain-language sentence for one pair and metric, from its numbers only."""
    metric = _info(row["metric"])
    a, b, kind = row["setting_a"], row["setting_b"], metric.kind
    interval = f"{fmt_difference(row['ci_low'], kind)} to {fmt_difference(row['ci_high'], kind)}"
    if not np.isfinite(row["ci_low"]):
        return (f"{metric.label}: too few runs to compare {a} and {b} "
                f"({fmt(row['mean_a'], kind)} vs {fmt(row['mean_b'], kind)}).")
    if not row["clear"]:
        return (f"{metric.label}: no clear difference between {a} and {b} "
                f"({fmt(row['mean_a'], kind)} vs {fmt(row['mean_b'], kind)}; the 95% CI of "
                f"the difference, {interval}, includes zero).")
    high, low = (b, a) if row["difference"] > 0 else (a, b)
    high_mean, low_mean = max(row["mean_a"], row["mean_b"]), min(row["mean_a"], row["mean_b"])
    if np.isfinite(row["ratio_low"]) and np.isfinite(row["ratio_high"]):
        ratio, r_low, r_high = row["ratio"], row["ratio_low"], row["ratio_high"]
        if row["difference"] < 0:
            ratio, r_low, r_high = 1 / ratio, 1 / r_high, 1 / r_low
        if 1.1 <= ratio < MAX_RATIO_WORDING:
            digits = 2 if r_high < 2 else 1
            return (f"{metric.label} is {ratio:.{digits}f}x {_more(kind)} under {high} than under "
                    f"{low} (95% CI {r_low:.{digits}f}x-{r_high:.{digits}f}x; "
                    f"{fmt(high_mean, kind)} vs {fmt(low_mean, kind)}).")
    gap, gap_low, gap_high = row["difference"], row["ci_low"], row["ci_high"]
    if gap < 0:
        gap, gap_low, gap_high = -gap, -gap_high, -gap_low
    return (f"{metric.label} is {_more(kind)} under {high} than under {low}: "
            f"{fmt(high_mean, kind)} vs {fmt(low_mean, kind)}, a gap of "
            f"{_gap_words(gap, gap_low, gap_high, kind)}.")


def _more(kind: str) -> str:
    return "longer" if kind == "steps" else "higher"


def _gap_words(gap: float, low: float, high: float, kind: str) -> str:
    if kind == "share":
        return (f"{100 * gap:.1f} percentage points (95% CI {100 * low:.1f} to "
                f"{100 * high:.1f})")
    return f"{fmt(gap, kind)} (95% CI {fmt(low, kind)} to {fmt(high, kind)})"


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
    """A Kaplan-Meier median or bound: 'never within N steps' where it is not reached."""
    if median is None or not np.isfinite(median):
        return f"not within {fmt(horizon, 'steps')}" if np.isfinite(horizon) else "n/a"
    return fmt(median, "steps")


def km_sentence(row: pd.Series, km: pd.DataFrame) -> str:
    """One plain-language sentence on the time to half the staff for a pair of settings."""
    by = km.set_index("setting")

    def part(setting: str) -> str:
        r = by.loc[setting]
        return (f"{fmt_km(r['median'], r['horizon'])} steps under {setting} (95% CI "
                f"{fmt_km(r['ci_low'], r['horizon'])} to {fmt_km(r['ci_high'], r['horizon'])}; "
                f"reached in {int(r['reached'])} of {int(r['runs'])} runs)")

    verdict = ("a clear difference" if row["clear"] else "no clear difference")
    return (f"Time for a good idea to reach half the staff (Kaplan-Meier median, runs that never "
            f"got there counted as censored): {part(row['setting_a'])} vs "
            f"{part(row['setting_b'])}; {verdict} (log-rank p = {row['logrank_p']:.3g}).")


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
