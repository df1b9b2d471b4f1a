"""The report's summary for a board: at most five findings in plain words, ranked.

Everything here is worded from the numbers in experiments/statistics.py (pairwise
differences, Kaplan-Meier medians); nothing is computed twice. Differences read
"B minus A": the setting listed second against the one listed first, in that order.
One step of the model is one week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.statistics import (
    METRIC_BY_NAME,
    ReportMetric,
    fmt,
    fmt_km,
    fmt_unit,
    setting_label,
)

SUMMARY_SIZE = 5
# Findings about one thing (the spread of the good idea, coasting, ...) count once in the
# summary: the most telling one stands for its family, the others stay under Details.
FAMILIES = {
    "hidden_coasting_share": "coasting", "coasting_share": "coasting",
    "mean_time_hidden": "coasting", "probe_share_26w": "good idea",
    "probe_share_52w": "good idea", "probe_adoption_auc": "good idea",
    "probe_reached_half": "good idea", "probe_final_share": "good idea",
    "time_to_half_km": "good idea", "ideas_per_employee_year": "ideas born",
    "ideas_generated": "ideas born", "ideas_squashed_share": "idea filter",
    "ideas_squashed_of_decided": "idea filter", "ideas_adopted_widely_share": "idea filter",
    "mean_adopted_idea_value": "idea filter",
}
KM_RELEVANCE = 0.9
SUMMARY_COLUMNS = ["setting_a", "setting_b", "metric", "score", "sentence"]


def _number(value: float) -> str:
    """A count in plain form: '12', '4.5', '0.3'."""
    value = abs(float(value)) + 0.0
    return f"{value:.0f}" if round(value) >= 10 else f"{value:.1f}".removesuffix(".0")


def _base(*values: float) -> int:
    """'in every 100', or 1,000 / 10,000 where the numbers are small."""
    biggest = max((abs(v) for v in values if np.isfinite(v)), default=0.0)
    return 100 if biggest >= 0.05 else 1000 if biggest >= 0.005 else 10000


def plain_range(low: float, high: float, per: str, base: int | None = None,
                more: str = "") -> str:
    """'between 12 and 14 in every 100 staff' (for shares; magnitudes only); ``more``
    ('more', 'fewer') goes before 'in every'."""
    base = base or _base(low, high)
    lo, hi = sorted((abs(low) * base, abs(high) * base))
    a, b = _number(lo), _number(hi)
    if a == b:
        a, b = f"{lo:.1f}", f"{hi:.1f}"
    return f"between {a} and {b} {more + ' ' if more else ''}in every {base:,} {per}"


def magnitude(row: pd.Series) -> float:
    """Size of an effect on one scale for every metric: |B - A| / max(|A|, |B|), in [0, 1]
    for positive quantities (1 - 1/ratio)."""
    scale = max(abs(row["mean_a"]), abs(row["mean_b"]))
    return float(abs(row["difference"]) / scale) if scale > 0 else 0.0


def plain_sentence(row: pd.Series) -> str:
    """A clear difference in plain words with its interval, B first."""
    metric: ReportMetric = METRIC_BY_NAME[row["metric"]]
    a, b = setting_label(row["setting_a"]), setting_label(row["setting_b"])
    up = row["difference"] > 0
    runs = (f"{int(row['n_b'])} runs each" if row["paired"]
            else f"{int(row['n_b'])} and {int(row['n_a'])} runs in which it happened")
    if metric.kind == "share":
        base = _base(row["mean_a"], row["mean_b"], row["ci_low"], row["ci_high"])
        more = "more" if up else "fewer"
        lo, hi = (row["ci_low"], row["ci_high"]) if up else (-row["ci_high"], -row["ci_low"])
        return (f"{metric.label} is {'higher' if up else 'lower'} under {b} than under {a}: "
                f"about {_number(row['mean_b'] * base)} vs {_number(row['mean_a'] * base)} "
                f"in every {base:,} {metric.per} ({b} minus {a}: "
                f"{plain_range(lo, hi, metric.per, base, more)}; {runs}).")
    if metric.kind == "steps":
        word = "longer" if up else "shorter"
        lo, hi = sorted((abs(row["ci_low"]), abs(row["ci_high"])))
        return (f"{metric.label} is {word} under {b} than under {a}: about "
                f"{fmt(row['mean_b'], 'steps')} vs {fmt(row['mean_a'], 'steps')} weeks ({b} "
                f"minus {a}: between {fmt(lo, 'steps')} and {fmt(hi, 'steps')} weeks {word}; "
                f"{runs}).")
    word = "higher" if up else "lower"
    lo, hi = sorted((abs(row["ci_low"]), abs(row["ci_high"])))
    return (f"{metric.label} is {word} under {b} than under {a}: {fmt_unit(row['mean_b'], metric)}"
            f" vs {fmt_unit(row['mean_a'], metric)} ({b} minus {a}: between "
            f"{fmt(lo, metric.kind)} and {fmt(hi, metric.kind)} {word}; {runs}).")


def km_plain(pair: pd.Series, km: pd.DataFrame) -> str:
    """The time for a good idea to reach half the staff, in weeks, B first."""
    by = km.set_index("setting")
    a, b = str(pair["setting_a"]), str(pair["setting_b"])

    def part(setting: str) -> str:
        r = by.loc[setting]
        median = fmt_km(r["median"], r["horizon"])
        when = median if median.startswith("not") else f"after about {median}"
        return (f"{when} under {setting_label(setting)} (between "
                f"{fmt_km(r['ci_low'], r['horizon'])} and {fmt_km(r['ci_high'], r['horizon'])}; "
                f"it got there in {int(r['reached'])} of {int(r['runs'])} runs)")

    return (f"A good idea reaches half the staff {part(b)} vs {part(a)} (Kaplan-Meier "
            "median).")


def _km_score(pair: pd.Series) -> float:
    low, high = sorted((pair["median_a"], pair["median_b"]))
    if not np.isfinite(high):
        return KM_RELEVANCE
    return KM_RELEVANCE * (1 - low / high) if high > 0 else 0.0


def check_focus(focus: list[str] | None) -> list[str]:
    """The measures named by --focus, or a ParameterError naming the choices."""
    from model.parameters import ParameterError

    choices = [*METRIC_BY_NAME, "time_to_half_km"]
    for name in focus or []:
        if name not in choices:
            raise ParameterError(f"--focus {name!r}: not a measure of the report (choose from "
                                 f"{', '.join(choices)})")
    return list(focus or [])


def summary_findings(differences: pd.DataFrame, km: pd.DataFrame | None = None,
                     km_pairs: pd.DataFrame | None = None, size: int = SUMMARY_SIZE,
                     focus: list[str] | None = None) -> pd.DataFrame:
    """At most ``size`` clear findings, ranked by relevance x size of the effect
    (:func:`magnitude`), one per family of metrics and pair of settings; the measures in
    ``focus`` (the client's question) come first where they are clear."""
    rows = []
    for _, row in differences.loc[differences["clear"].astype(bool)].iterrows():
        metric = METRIC_BY_NAME.get(row["metric"])
        if metric is None or metric.better == 0:  # descriptive, neither good nor bad
            continue
        rows.append({"setting_a": row["setting_a"], "setting_b": row["setting_b"],
                     "metric": row["metric"], "score": metric.relevance * magnitude(row),
                     "sentence": plain_sentence(row)})
    if km is not None and km_pairs is not None:
        for _, pair in km_pairs.loc[km_pairs["clear"].astype(bool)].iterrows():
            rows.append({"setting_a": pair["setting_a"], "setting_b": pair["setting_b"],
                         "metric": "time_to_half_km", "score": _km_score(pair),
                         "sentence": km_plain(pair, km)})
    table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    if table.empty:
        return table
    table["asked"] = table["metric"].isin(focus or [])
    table = table.sort_values(["asked", "score"], ascending=False, kind="stable").drop(
        columns="asked")
    family = table["metric"].map(lambda m: FAMILIES.get(m, m))
    keep = ~pd.concat([table["setting_a"], table["setting_b"], family], axis=1).duplicated()
    return table[keep].head(size).reset_index(drop=True)


def _labels(metrics: list[str], most: int = 3, by_family: bool = True) -> str:
    """Lower-case labels joined in words: at most ``most``, one per family of measures
    unless ``by_family`` is False."""
    chosen, seen = [], set()
    for metric in metrics:
        if not by_family or FAMILIES.get(metric, metric) not in seen:
            seen.add(FAMILIES.get(metric, metric))
            chosen.append(metric)
    names = [METRIC_BY_NAME[m].label[0].lower() + METRIC_BY_NAME[m].label[1:]
             for m in chosen[:most]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _findings_on(metrics: list[str]) -> str:
    """'2 clear findings (share of ideas adopted widely and value of adopted ideas)' or
    '13 clear findings (among them hidden coasting, ...)'."""
    few = len(metrics) <= 3
    count = f"{len(metrics)} clear finding{'s' * (len(metrics) > 1)}"
    return f"{count} ({'' if few else 'among them '}{_labels(metrics, by_family=not few)})"


FILTER_WORDS = {"ideas_adopted_widely_share": "more of them spread widely",
                "mean_adopted_idea_value": "those taken up are worth more"}


def trade_offs(differences: pd.DataFrame) -> list[str]:
    """Per pair whose clear findings point in opposite directions: one sentence saying so
    (and, where fewer ideas are born but more of them spread or they are worth more, that
    this is fewer but better-filtered ideas)."""
    sentences = []
    for (a, b), pair in differences.loc[differences["clear"].astype(bool)].groupby(
            ["setting_a", "setting_b"], sort=False, observed=True):
        favours_b, favours_a = [], []
        for _, row in pair.iterrows():
            metric = METRIC_BY_NAME.get(row["metric"])
            if metric is None or metric.better == 0:
                continue
            (favours_b if metric.better * row["difference"] > 0 else favours_a).append(
                row["metric"])
        if not favours_a or not favours_b:
            continue
        la, lb = setting_label(a), setting_label(b)
        sentence = (f"The findings point in opposite directions: {lb} does better than {la} "
                    f"on {_findings_on(favours_b)} but worse on {_findings_on(favours_a)}.")
        for fewer, better, name in ((favours_a, favours_b, lb), (favours_b, favours_a, la)):
            filtered = [FILTER_WORDS[m] for m in FILTER_WORDS if m in better]
            if "ideas_per_employee_year" in fewer and filtered:
                sentence = sentence[:-1] + (f": under {name} fewer ideas are born per employee, "
                                            f"but {' and '.join(filtered)}, so fewer but "
                                            "better-filtered ideas.")
        sentences.append(sentence)
    return sentences


def squash_note(intervals: pd.DataFrame) -> str:
    """How the two shares of squashed ideas differ, with this comparison's numbers."""
    rows = intervals[intervals["metric"].isin(["ideas_squashed_share",
                                               "ideas_squashed_of_decided"])]
    if rows["metric"].nunique() < 2:
        return ""
    by = rows.set_index(["setting", "metric"])["mean"]
    parts = [f"{fmt(by[(s, 'ideas_squashed_share')], 'share')} of all ideas born but "
             f"{fmt(by[(s, 'ideas_squashed_of_decided')], 'share')} of those decided under "
             f"{setting_label(s)}" for s in dict.fromkeys(rows["setting"])
             if np.isfinite(by.get((s, "ideas_squashed_of_decided"), np.nan))]
    if not parts:
        return ""
    return ("Squashed ideas are counted two ways: out of all ideas born (most never come to a "
            "decision) and out of the ideas decided, sanctioned or turned down: "
            + "; ".join(parts) + ".")
