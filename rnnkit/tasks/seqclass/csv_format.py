"""The user's own labelled series: one long CSV, one row per (series, time step).

Format (header required, comma-separated, UTF-8):

    series_id,time,<channel 1>,...,<channel C>,label[,split]
    s1,0,0.12,1.5,walk,train
    s1,1,0.10,1.4,walk,train
    s2,0,0.50,0.2,run,test

- `series_id`: any text; all rows with the same id form one series (rows of different series may interleave).
- `time`: a number; within a series it must strictly increase (no duplicates, no going back).
- every other column except `label` and `split` is a numeric channel; at least one is required.
- `label`: the class, identical on every row of a series.
- `split` (optional): `train` or `test`, identical on every row of a series. Without it, a stratified
  `test_fraction` of the series is held out.
Missing values (empty, NaN) are an error unless `fill="interpolate"`, which fills them linearly in time
inside their series (and with the nearest value at either end). Every problem raises `DataError` with
one line naming the file, the line and what is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.tasks.textfiles import data_rows, parse_csv
from rnnkit.training.errors import DataError

REQUIRED = ("series_id", "time", "label")
FILLS = ("none", "interpolate")


@dataclass
class _Series:
    """Rows of one series as read: first line, label, split, times and channel rows."""

    line: int
    label: str
    split: str | None
    times: list[float] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    values: list[list[float]] = field(default_factory=list)


@dataclass
class CsvSeries:
    """What a long CSV holds: series in first-appearance order, their labels, splits and channel names."""

    ids: list[str]
    series: list[np.ndarray]         # each (T_i, C) float32
    labels: list[str]
    splits: list[str] | None         # "train"/"test" per series, or None without a split column
    channels: tuple[str, ...]


def read_long_csv(path: str | Path, fill: str = "none", require_label: bool = True) -> CsvSeries:
    """Parse and validate a long-format CSV (see the module docstring). With `require_label=False` (series to
    classify) the label column may be absent; the labels are then empty strings."""
    if fill not in FILLS:
        raise DataError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
    path = Path(path)
    return parse_csv(path, lambda reader: _parse(reader, path, fill, require_label))


def _parse(reader, path: Path, fill: str, require_label: bool) -> CsvSeries:
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise DataError(f"{path}, line 1: empty file; expected a header series_id,time,<channels>,label")
    header = [h.strip() for h in header]
    for name in REQUIRED if require_label else REQUIRED[:2]:
        if name not in header:
            raise DataError(f"{path}, line 1: missing column {name!r}; expected a header "
                            f"series_id,time,<channels>,label[,split], got {','.join(header)}")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DataError(f"{path}, line 1: column {dupes[0]!r} appears more than once")
    col = {h: i for i, h in enumerate(header)}
    channels = tuple(h for h in header if h not in (*REQUIRED, "split"))
    if not channels:
        raise DataError(f"{path}, line 1: no channel columns; expected at least one numeric column besides "
                        "series_id, time, label and split")
    has_split, has_label = "split" in col, "label" in col
    found: dict[str, _Series] = {}
    for line, row in data_rows(reader, len(header), path):
        sid, label = row[col["series_id"]].strip(), row[col["label"]].strip() if has_label else ""
        split = row[col["split"]].strip().lower() if has_split else None
        if not sid:
            raise DataError(f"{path}, line {line}: empty series_id")
        if has_label and not label:
            raise DataError(f"{path}, line {line}: empty label")
        if has_split and split not in ("train", "test"):
            raise DataError(f"{path}, line {line}: split must be train or test, got {row[col['split']]!r}")
        time = _number(row[col["time"]], path, line, "time", allow_missing=False)
        values = [_number(row[col[c]], path, line, c, allow_missing=fill != "none") for c in channels]
        s = found.setdefault(sid, _Series(line, label, split))
        if s.label != label:
            raise DataError(f"{path}, line {line}: series {sid!r} has label {label!r} here but {s.label!r} "
                            f"on line {s.line}; a series has one label")
        if s.split != split:
            raise DataError(f"{path}, line {line}: series {sid!r} has split {split!r} here but {s.split!r} "
                            f"on line {s.line}; a series belongs to one split")
        if s.times and time == s.times[-1]:
            raise DataError(f"{path}, line {line}: duplicate time {time:g} in series {sid!r} "
                            f"(also on line {s.lines[-1]})")
        if s.times and time < s.times[-1]:
            raise DataError(f"{path}, line {line}: time {time:g} of series {sid!r} comes after time "
                            f"{s.times[-1]:g} (line {s.lines[-1]}); sort each series by time")
        s.times.append(time)
        s.lines.append(line)
        s.values.append(values)
    if not found:
        raise DataError(f"{path}: no data rows after the header")
    series = [_filled(np.array(s.values, dtype=np.float64), path, sid, s) for sid, s in found.items()]
    return CsvSeries(list(found), series, [s.label for s in found.values()],
                     [s.split for s in found.values()] if has_split else None, channels)


def _number(text: str, path: Path, line: int, column: str, allow_missing: bool) -> float:
    """A finite float, or NaN for a missing value when filling is allowed."""
    t = text.strip()
    if t == "" or t.lower() in ("nan", "na", "null"):
        if allow_missing:
            return math.nan
        hint = "" if column == "time" else "; fix the file, or train with --fill interpolate to repair gaps"
        raise DataError(f"{path}, line {line}, column {column!r}: missing value{hint}")
    try:
        value = float(t)
    except ValueError:
        raise DataError(f"{path}, line {line}, column {column!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{path}, line {line}, column {column!r}: {text!r} is not a finite number")
    return value


def _filled(values: np.ndarray, path: Path, sid: str, s: _Series) -> np.ndarray:
    """Linear interpolation in time of missing values inside one series, per channel -> (T, C) float32."""
    t = np.array(s.times)
    for c in range(values.shape[1]):
        bad = np.isnan(values[:, c])
        if bad.all():
            raise DataError(f"{path}, line {s.line}: series {sid!r} has no value at all in channel {c + 1}; "
                            "nothing to interpolate from")
        if bad.any():
            values[bad, c] = np.interp(t[bad], t[~bad], values[~bad, c])
    return values.astype(np.float32)
