"""The CSV manifest user data comes in: one row per (file, value), paths relative to the CSV.

    file,caption[,split]         (captioning: a folder of images)
    file,label[,split]           (video: a folder of .npy clips)

The header names the columns (any order; other columns are ignored). Several rows may name the same
file (several reference captions). `split` is optional: train, valid or test; without it the files are
split 80/10/10 at random (seeded), by file, so no file lands in two splits. Every problem is raised
as one `DataError` line naming the file, the line and what is wrong.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.tasks.textfiles import data_rows
from rnnkit.training.errors import DataError

SPLITS = ("train", "valid", "test")


@dataclass
class Row:
    line: int           # line in the CSV (the header is line 1)
    file: Path          # resolved against the CSV's folder
    name: str           # the file as the CSV writes it (for messages)
    value: str          # the caption or the label, stripped
    split: str | None   # train | valid | test, or None when the CSV has no split column


def read_manifest(path: str | Path, value_column: str) -> list[Row]:
    """The rows of a `file,<value_column>[,split]` CSV, each checked; DataError on the first problem."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (expected a CSV with the columns file,{value_column})")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise DataError(f"{path}: the file is empty (expected a header line file,{value_column})")
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("file", value_column) if c not in names]
    if missing:
        raise DataError(f"{path}, line 1: the header must name the columns file,{value_column} (optionally "
                        f"split); missing {', '.join(missing)}, got {','.join(header)!r}")
    col = {c: names.index(c) for c in ("file", value_column, "split") if c in names}
    rows: list[Row] = []
    for line, fields in data_rows(reader, len(header), path):
        file, value = fields[col["file"]].strip(), fields[col[value_column]].strip()
        if not file:
            raise DataError(f"{path}, line {line}: the file field is empty")
        if not value:
            raise DataError(f"{path}, line {line}: the {value_column} field is empty")
        split = fields[col["split"]].strip().lower() if "split" in col else None
        if split is not None and split not in SPLITS:
            raise DataError(f"{path}, line {line}: split must be train, valid or test, got {split!r}")
        target = (path.parent / file).resolve()
        if not target.is_file():
            raise DataError(f"{path}, line {line}: {file!r} not found (looked for {target})")
        rows.append(Row(line, target, file, value, split))
    if not rows:
        raise DataError(f"{path}: no data rows after the header")
    return rows


def assign_splits(rows: list[Row], path: str | Path, seed: int = 0,
                  shares: tuple[float, float] = (0.8, 0.1), stratify: bool = False) -> dict[Path, str]:
    """Each distinct file's split: from the split column, else a seeded 80/10/10 shuffle by file;
    `stratify` keeps each label's share about the same in every split (rows' `value` is the label)."""
    files = list(dict.fromkeys(r.file for r in rows))
    if rows[0].split is not None:
        split_of: dict[Path, str] = {}
        for r in rows:
            if split_of.setdefault(r.file, r.split) != r.split:
                raise DataError(f"{path}, line {r.line}: {r.name!r} was put in the {split_of[r.file]} split "
                                f"on an earlier line, here in {r.split}")
    else:
        if len(files) < 3:
            raise DataError(f"{path}: {len(files)} distinct file(s); at least 3 are needed for train, valid and test")
        order = _shuffled(files, {r.file: r.value for r in rows} if stratify else None, seed)
        n_train = max(1, min(len(files) - 2, round(len(files) * shares[0])))
        n_val = max(1, min(len(files) - n_train - 1, round(len(files) * shares[1])))
        split_of = {}
        for rank, i in enumerate(order):
            split_of[files[i]] = "train" if rank < n_train else "valid" if rank < n_train + n_val else "test"
    empty = [s for s in SPLITS if s not in set(split_of.values())]
    if empty:
        raise DataError(f"{path}: the {' and '.join(empty)} split(s) have no file; give each split at least one")
    return split_of


def _shuffled(files: list[Path], label_of: dict[Path, str] | None, seed: int) -> np.ndarray:
    """A seeded order of the files; with labels, each label's files spread evenly along it (each file
    ranked by its place within its own label), so any cut of the order keeps the label mix."""
    rng = np.random.default_rng(seed)
    if label_of is None:
        return rng.permutation(len(files))
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(files):
        groups.setdefault(label_of[f], []).append(i)
    keys = []
    for label in sorted(groups):
        members = groups[label]
        for k, j in enumerate(rng.permutation(len(members))):
            keys.append(((k + 0.5) / len(members), rng.random(), members[j]))
    return np.array([i for *_, i in sorted(keys)])
