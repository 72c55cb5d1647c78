"""Two-sample significance tests with confidence intervals, shared by launch impact (products: before vs after)
and coupon holdouts (users: treatment vs holdout). Imports no app.

Each test compares side 2 with side 1 (after − before, treatment − holdout) and answers one dict:
``{"before", "after", "difference", "relative_change", "test", "statistic", "p_value", "ci_low", "ci_high",
"confidence", "verdict"}``. ``p_value`` and the interval are None when a side is too small to test.

- Proportions: the pooled two-proportion z-test (its p-value), and the unpooled (Wald) interval of the difference
  ``d ± z·√(p1(1−p1)/n1 + p2(1−p2)/n2)``.
- Means: Welch's t-test from summary statistics (unequal variances), and its interval ``d ± t(df)·se`` with the
  Welch–Satterthwaite degrees of freedom.

``verdict`` is a code the pages turn into plain words: ``too_small`` (a side has fewer than ``MIN_SAMPLE`` units,
or nothing converted on either side: no test can say anything yet), ``not_significant``, ``significant_up``,
``significant_down`` (p below ``alpha``, by the sign of the difference).
"""

from __future__ import annotations

import math

from scipy import stats

ALPHA = 0.05
# Fewer units than this on a side: the normal approximation is not worth reading (the verdict says "too small").
MIN_SAMPLE = 30

TOO_SMALL = "too_small"
NOT_SIGNIFICANT = "not_significant"
SIGNIFICANT_UP = "significant_up"
SIGNIFICANT_DOWN = "significant_down"
VERDICTS = (TOO_SMALL, NOT_SIGNIFICANT, SIGNIFICANT_UP, SIGNIFICANT_DOWN)


def _verdict(result: dict, *, enough: bool, alpha: float) -> str:
    if not enough or result["p_value"] is None:
        return TOO_SMALL
    if result["p_value"] >= alpha:
        return NOT_SIGNIFICANT
    return SIGNIFICANT_UP if result["difference"] > 0 else SIGNIFICANT_DOWN


def two_proportion_z_test(*, x1: int, n1: int, x2: int, n2: int, alpha: float = ALPHA,
                          min_sample: int = MIN_SAMPLE) -> dict:
    """Pooled two-sided z-test of p2 − p1, with the (1 − alpha) Wald interval of the difference."""
    p1 = x1 / n1 if n1 else 0.0
    p2 = x2 / n2 if n2 else 0.0
    result = {"before": p1, "after": p2, "difference": p2 - p1, "relative_change": (p2 - p1) / p1 if p1 else None,
              "test": "two-proportion z-test", "statistic": None, "p_value": None, "ci_low": None, "ci_high": None,
              "confidence": 1 - alpha}
    if n1 and n2:
        pooled = (x1 + x2) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        if se > 0:
            z = (p2 - p1) / se
            result.update(statistic=z, p_value=float(2 * stats.norm.sf(abs(z))))
            z_crit = float(stats.norm.ppf(1 - alpha / 2))
            half = z_crit * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
            result.update(ci_low=(p2 - p1) - half, ci_high=(p2 - p1) + half)
    enough = min(n1, n2) >= min_sample and (x1 + x2) > 0
    result["verdict"] = _verdict(result, enough=enough, alpha=alpha)
    return result


def welch_t_test(*, mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int, alpha: float = ALPHA,
                 min_sample: int = MIN_SAMPLE) -> dict:
    """Welch's two-sided t-test of mean2 − mean1 from summary statistics (sample variances), with its interval."""
    result = {"before": mean1, "after": mean2, "difference": mean2 - mean1,
              "relative_change": (mean2 - mean1) / mean1 if mean1 else None, "test": "Welch's t-test",
              "statistic": None, "p_value": None, "ci_low": None, "ci_high": None, "confidence": 1 - alpha}
    if n1 >= 2 and n2 >= 2 and (var1 > 0 or var2 > 0):
        test = stats.ttest_ind_from_stats(mean2, math.sqrt(var2), n2, mean1, math.sqrt(var1), n1, equal_var=False)
        a, b = var1 / n1, var2 / n2
        se = math.sqrt(a + b)
        df = (a + b) ** 2 / ((a * a / (n1 - 1) if a else 0.0) + (b * b / (n2 - 1) if b else 0.0))
        half = float(stats.t.ppf(1 - alpha / 2, df)) * se
        result.update(statistic=float(test.statistic), p_value=float(test.pvalue),
                      ci_low=(mean2 - mean1) - half, ci_high=(mean2 - mean1) + half)
    result["verdict"] = _verdict(result, enough=min(n1, n2) >= min_sample, alpha=alpha)
    return result


def mean_and_variance(*, n: int, total: float, squares: float) -> tuple[float, float]:
    """Mean and sample variance from a count, a sum and a sum of squares (0, 0 when empty)."""
    if n == 0:
        return 0.0, 0.0
    mean = total / n
    variance = (squares - n * mean * mean) / (n - 1) if n > 1 else 0.0
    return mean, max(variance, 0.0)
