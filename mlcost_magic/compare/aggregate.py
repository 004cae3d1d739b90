"""Repeated runs, aggregated: per label (mean, sd, count), and the spread of one group of
repeats (mean, sd, 95 % Student-t interval, noise)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where a frame is built: `%load_ext` stays cheap
    import pandas as pd


def aggregate_by_label(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per label (first-seen order): ``<column>`` mean, ``<column>_std`` (ddof 1, NaN
    for a single run) and ``runs``, for each of ``columns`` present in ``frame``."""
    import pandas as pd

    columns = [c for c in dict.fromkeys(columns) if c in frame.columns]
    values = frame[["label", *columns]].copy()
    values["label"] = values["label"].astype("string").fillna("")
    for column in columns:
        values[column] = pd.to_numeric(values[column], errors="coerce").astype(float)
    grouped = values.groupby("label", sort=False)
    means = grouped[columns].mean()
    stds = grouped[columns].std(ddof=1).add_suffix("_std")
    counts = grouped.size().rename("runs")
    result = pd.concat([means, stds, counts], axis=1)
    result.index.name = "label"
    return result.reset_index()


# Two-sided 95 % Student t critical values t(0.975, df) for df = 1..30 (standard tables).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z975 = 1.959964
NOISY_CV = 0.10  # coefficient of variation of energy above which a group is 'noisy'


def t_critical_95(df: int) -> float:
    """t(0.975, df): the table up to 30, then the Cornish-Fisher expansion (error < 1e-4)."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True)
class Spread:
    """Mean, sample standard deviation and 95 % confidence interval (Student t) of n values."""

    mean: float
    sd: float
    ci95: tuple[float, float]
    n: int

    @property
    def cv(self) -> float:
        """Coefficient of variation sd / mean (NaN when undefined)."""
        return self.sd / self.mean if self.n > 1 and self.mean else math.nan


def spread(values) -> Spread:
    """The spread of finite ``values`` (NaN sd and interval for fewer than two)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    if n == 0:
        return Spread(math.nan, math.nan, (math.nan, math.nan), 0)
    mean = statistics.fmean(finite)
    if n == 1:
        return Spread(mean, math.nan, (math.nan, math.nan), 1)
    sd = statistics.stdev(finite)
    half = t_critical_95(n - 1) * sd / math.sqrt(n)
    return Spread(mean, sd, (mean - half, mean + half), n)


def noise(energy: Spread) -> float | None:
    """The coefficient of variation of a group's energy when it is over NOISY_CV, else None."""
    cv = energy.cv
    return cv if math.isfinite(cv) and cv > NOISY_CV else None
