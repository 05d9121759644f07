"""The user's own series: a CSV with a time column and value columns.

Format (header required, comma-separated, UTF-8), one row per time step, oldest first:

    time,sales,price,holiday
    2021-01-01,120.5,9.99,1
    2021-01-02,98.0,9.99,0

- `time` (the column name is configurable): ISO dates or datetimes (`2021-01-31`, `2021-01-31T14:30`,
  `2021-01`), or plain numbers (step indices). Strictly increasing: an unsorted or duplicated timestamp
  is an error, since there is no safe automatic choice between the two rows. Datetimes with a UTC
  offset (`2023-03-26T01:00+01:00`, `...Z`) are converted to UTC, which stays equally spaced across
  daylight-saving changes where local clock times do not.
- the target: the first value column, unless named. All other value columns are covariates (inputs
  known over the forecast horizon, e.g. a calendar flag or a price plan), unless a subset is named.
- equal spacing: the step is the smallest interval between rows (calendar months for monthly data).
  A missing timestamp (a gap) or an empty / NaN cell is an error, unless `fill` repairs it:
  `interpolate` (linear in time) or `ffill` (carry the last value forward); both insert the missing
  timestamps, and values missing at the very start take the first known value.
Every problem raises `DataError` with one line naming the file, the line and what is wrong.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rnnkit.tasks.forecast.data import TimeSeries, time_axis
from rnnkit.tasks.textfiles import data_rows, parse_csv
from rnnkit.training.errors import DataError

FILLS = ("none", "interpolate", "ffill")
# Default season for a detected step: (unit, steps) -> season length.
SEASONS = {("M", 1): 12, ("M", 3): 4, ("s", 86400): 7, ("s", 7 * 86400): 52, ("s", 3600): 24, ("s", 1800): 48,
           ("s", 900): 96, ("s", 600): 144, ("s", 300): 288, ("s", 60): 1440}


def read_series_csv(path: str | Path, *, time_column: str = "time", target: str | None = None,
                    covariates: list[str] | None = None, fill: str = "none", season: int | None = None
                    ) -> TimeSeries:
    """Parse and validate a series CSV (see the module docstring); `season=None` infers it from the step."""
    return _load(path, time_column, target, covariates, fill, season, allow_future=False)[0]


def read_forecast_input(path: str | Path, *, time_column: str = "time", target: str | None = None,
                        covariates: list[str] | None = None, fill: str = "none", season: int | None = None
                        ) -> tuple[TimeSeries, np.ndarray]:
    """A history to forecast from: like `read_series_csv`, but the last rows may leave the target empty and
    give the covariates of the steps to forecast. -> (observed series, future covariates (F, C))."""
    return _load(path, time_column, target, covariates, fill, season, allow_future=True)


def _load(path, time_column, target, covariates, fill, season, allow_future: bool) -> tuple[TimeSeries, np.ndarray]:
    if fill not in FILLS:
        raise DataError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
    path = Path(path)
    rows = parse_csv(path, lambda reader: _read_rows(reader, path, time_column, target, covariates, fill,
                                                     allow_future))
    names, lines, stamps, values, datetime_like = rows
    position, unit, step = _positions(path, lines, stamps, datetime_like, fill)
    future = np.zeros((0, values.shape[1] - 1))
    if allow_future:
        missing = np.isnan(values[:, 0])
        observed = len(values)
        while observed > 0 and missing[observed - 1]:       # the trailing rows without a target
            observed -= 1
        if fill == "none" and missing[:observed].any():
            i = int(np.flatnonzero(missing[:observed])[0])
            raise DataError(f"{path}, line {lines[i]}, column {names[0]!r}: missing value; only the last rows "
                            "(the steps to forecast) may leave the target empty (a model trained with --fill "
                            "repairs gaps)")
        if np.isnan(values[observed:, 1:]).any():
            i = observed + int(np.flatnonzero(np.isnan(values[observed:, 1:]).any(1))[0])
            raise DataError(f"{path}, line {lines[i]}: a row to forecast needs every covariate value")
        if observed < 2:
            raise DataError(f"{path}: {observed} row(s) with a target value; a history needs at least 2")
        ahead = position[observed:] - position[observed - 1]
        bad = np.flatnonzero(ahead != np.arange(1, len(ahead) + 1))
        if len(bad):
            raise DataError(f"{path}, line {lines[observed + bad[0]]}: the rows to forecast must follow the last "
                            "observed row step by step, without gaps")
        future = values[observed:, 1:]
        stamps, values, position = stamps[:observed], values[:observed], position[:observed]
    grid = np.full((int(position[-1]) + 1, values.shape[1]), np.nan)
    grid[position] = values
    if fill != "none":
        grid = _fill(grid, fill, path, names)
    time = time_axis(stamps[0], unit, step, len(grid))
    if season is None:
        season = SEASONS.get((unit, step), 1)
    series = TimeSeries(path.stem, time, grid[:, 0], grid[:, 1:], names[0], tuple(names[1:]), season,
                        f"{path.name}: user data", unit, float(step))
    return series, future


def _read_rows(reader, path: Path, time_column: str, target: str | None, covariates: list[str] | None, fill: str,
               allow_future: bool):
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise DataError(f"{path}, line 1: empty file; expected a header like {time_column},value")
    header = [h.strip() for h in header]
    if time_column not in header:
        raise DataError(f"{path}, line 1: missing time column {time_column!r} (header: {','.join(header)}); "
                        "training names it with --time-column, and evaluate/predict read the model's")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DataError(f"{path}, line 1: column {dupes[0]!r} appears more than once")
    value_columns = [h for h in header if h != time_column]
    if not value_columns:
        raise DataError(f"{path}, line 1: no value column besides {time_column!r}")
    target = target or value_columns[0]
    covariates = [c for c in value_columns if c != target] if covariates is None else list(covariates)
    for name in (target, *covariates):
        if name not in value_columns:
            raise DataError(f"{path}, line 1: no value column {name!r} (value columns: {', '.join(value_columns)})")
    if target in covariates:
        raise DataError(f"{path}: column {target!r} cannot be both the target and a covariate")
    names = [target, *covariates]
    col = {h: i for i, h in enumerate(header)}
    lines, stamps, values = [], [], []
    datetime_like = offsets = None
    for line, row in data_rows(reader, len(header), path):
        stamp, is_dt = _timestamp(row[col[time_column]], path, line, time_column)
        has_offset = _has_offset(row[col[time_column]].strip().replace(" ", "T"))
        if offsets is None:
            offsets = has_offset
        elif has_offset != offsets:   # UTC and local clock times cannot be put on one axis
            raise DataError(f"{path}, line {line}, column {time_column!r}: {row[col[time_column]]!r} "
                            f"{'has' if has_offset else 'lacks'} a UTC offset, unlike the rows before it; give "
                            "every timestamp an offset or none")
        if datetime_like is None:
            datetime_like = is_dt
        elif is_dt != datetime_like:
            kind = "a date" if datetime_like else "a number"
            raise DataError(f"{path}, line {line}, column {time_column!r}: {row[col[time_column]]!r} is not "
                            f"{kind} like the rows before it")
        if stamps and stamp == stamps[-1]:
            raise DataError(f"{path}, line {line}: duplicated timestamp {row[col[time_column]].strip()} "
                            f"(also on line {lines[-1]})")
        if stamps and stamp < stamps[-1]:
            raise DataError(f"{path}, line {line}: timestamp {row[col[time_column]].strip()} is earlier than the "
                            f"one on line {lines[-1]}; rows must be sorted oldest first")
        values.append([_value(row[col[n]], path, line, n, "interpolate" if allow_future and k == 0 else fill)
                       for k, n in enumerate(names)])
        lines.append(line)
        stamps.append(stamp)
    if len(stamps) < 2:
        raise DataError(f"{path}: {len(stamps)} data row(s); a series needs at least 2")
    return names, lines, stamps, np.array(values, dtype=np.float64), datetime_like


def _has_offset(t: str) -> bool:
    """Whether an ISO datetime ends in a UTC offset (+01:00, -0500, Z)."""
    return "T" in t and re.search(r"(Z|[+-]\d\d(:?\d\d)?)$", t) is not None


def _utc(t: str) -> str:
    """An ISO datetime with a UTC offset as the naive UTC datetime it means; other text unchanged."""
    if not _has_offset(t):
        return t
    stamp = datetime.fromisoformat(t)
    return stamp.astimezone(UTC).replace(tzinfo=None).isoformat()


def _timestamp(text: str, path: Path, line: int, column: str) -> tuple[float | np.datetime64, bool]:
    t = text.strip()
    try:
        return float(t), False
    except ValueError:
        pass
    try:
        stamp = np.datetime64(_utc(t.replace(" ", "T")), "s")
    except ValueError:
        raise DataError(f"{path}, line {line}, column {column!r}: {text!r} is neither an ISO date/datetime "
                        "(e.g. 2021-01-31 or 2021-01-31T14:30) nor a number") from None
    if np.isnat(stamp):
        raise DataError(f"{path}, line {line}, column {column!r}: missing timestamp")
    return stamp, True


def _value(text: str, path: Path, line: int, column: str, fill: str) -> float:
    t = text.strip()
    if t == "" or t.lower() in ("nan", "na", "null"):
        if fill != "none":
            return math.nan
        raise DataError(f"{path}, line {line}, column {column!r}: missing value (NaN or empty); "
                        "fix the file, or train with --fill interpolate or --fill ffill to repair it")
    try:
        v = float(t)
    except ValueError:
        raise DataError(f"{path}, line {line}, column {column!r}: {text!r} is not a number") from None
    if math.isinf(v):
        raise DataError(f"{path}, line {line}, column {column!r}: {text!r} is not a finite number")
    return v


def _positions(path: Path, lines: list[int], stamps: list, datetime_like: bool, fill: str
               ) -> tuple[np.ndarray, str, int]:
    """Each row's step index from the first row, the unit ("M" months, "s" seconds, "" plain) and the step."""
    if datetime_like and _monthly(stamps):
        ym = np.array([s.astype("datetime64[M]").astype(int) for s in stamps])
        unit, offsets = "M", ym - ym[0]
    elif datetime_like:
        unit, offsets = "s", np.array([(s - stamps[0]).astype(int) for s in stamps])
    else:
        unit, offsets = "", np.array(stamps, dtype=np.float64) - stamps[0]
    diffs = np.diff(offsets)
    step = diffs.min()
    steps = diffs / step
    for i in np.flatnonzero(np.abs(steps - np.round(steps)) > 1e-9):
        raise DataError(f"{path}, line {lines[i + 1]}: irregular spacing: {diffs[i]:g}{unit} after line "
                        f"{lines[i]}, not a multiple of the series step {step:g}{unit}")
    for i in np.flatnonzero(np.round(steps) > 1):
        if fill == "none":
            raise DataError(f"{path}, line {lines[i + 1]}: gap of {round(steps[i]) - 1} missing step(s) after "
                            f"line {lines[i]} (step {step:g}{unit}); fix the file, or train with --fill "
                            "interpolate or --fill ffill to repair it")
    position = np.round(offsets / step).astype(np.int64)
    return position, unit, int(step) if float(step).is_integer() else step


def _monthly(stamps: list) -> bool:
    """All timestamps on the same day of the month and time of day (or all at month ends): calendar steps."""
    days = [s.astype("datetime64[D]") for s in stamps]
    month_start = [d.astype("datetime64[M]").astype("datetime64[D]") for d in days]
    day_of_month = {int((d - m).astype(int)) for d, m in zip(days, month_start, strict=True)}
    time_of_day = {int((s - d.astype("datetime64[s]")).astype(int)) for s, d in zip(stamps, days, strict=True)}
    month_end = all((d + 1).astype("datetime64[M]") != d.astype("datetime64[M]") for d in days)
    if len(time_of_day) != 1:
        return False
    if month_end and len(day_of_month) > 1:
        return True
    months = {d.astype("datetime64[M]") for d in days}
    return len(day_of_month) == 1 and len(months) == len(days)


def _fill(grid: np.ndarray, fill: str, path: Path, names: list[str]) -> np.ndarray:
    """Fill NaNs column by column: linear interpolation or last value carried forward."""
    out = grid.copy()
    idx = np.arange(len(grid))
    for c in range(grid.shape[1]):
        known = ~np.isnan(grid[:, c])
        if not known.any():
            raise DataError(f"{path}: column {names[c]!r} has no values at all; nothing to fill from")
        if fill == "interpolate":
            out[:, c] = np.interp(idx, idx[known], grid[known, c])
        else:
            last = np.maximum.accumulate(np.where(known, idx, -1))
            first = idx[known][0]
            out[:, c] = grid[np.where(last < 0, first, last), c]
    return out
