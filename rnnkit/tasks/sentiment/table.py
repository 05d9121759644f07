"""Reading the user's delimited text files (CSV or TSV) with one clear line per problem.

A file is UTF-8 (a byte-order mark is allowed) with a header row naming its columns. `.tsv` and `.tab`
files are tab-separated and read verbatim (no quoting, so quotes inside a text stay as they are);
every other file is comma-separated with standard CSV quoting (a field that holds a comma is put in
double quotes). Blank lines are skipped. Every problem raises `DataError` with one line naming the
file, the line and what is wrong: a missing file, bytes that are not UTF-8, a header without a
required column, a row with too few or too many fields, or a file with no data rows. The `translate`
task reads its pairs with it too.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from rnnkit.training.errors import DataError


@dataclass(frozen=True)
class Row:
    """One data row: the line it starts on (1-based, the header is line 1) and its fields by column."""

    line: int
    fields: dict[str, str]


def delimiter_for(path: Path) -> str:
    """Tab for `.tsv`/`.tab` files, comma otherwise."""
    return "\t" if path.suffix.lower() in (".tsv", ".tab") else ","


def read_table(path: str | Path, required: tuple[str, ...]) -> list[Row]:
    """The rows of a CSV/TSV file whose header has (at least) the `required` columns; see the module docstring."""
    path = Path(path)
    text = decode_utf8(path)
    delimiter = delimiter_for(path)
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    kind = "tab-separated" if delimiter == "\t" else "comma-separated"
    header: list[str] | None = None
    rows: list[Row] = []
    line = 1
    try:
        for fields in reader:
            start, line = line, reader.line_num + 1          # the row began on `start`, the next begins on `line`
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue                                      # a blank line
            if header is None:
                header = [f.strip() for f in fields]
                _check_header(path, start, header, required, kind)
                continue
            if len(fields) != len(header):
                raise DataError(f"{path}, line {start}: expected {len(header)} {kind} fields "
                                f"({','.join(header)}), got {len(fields)}"
                                + ("; quote fields that contain a comma" if delimiter == "," else ""))
            rows.append(Row(start, dict(zip(header, fields, strict=True))))
    except csv.Error as e:
        raise DataError(f"{path}, line {reader.line_num}: malformed {kind} text ({e})") from None
    if header is None:
        raise DataError(f"{path}: the file is empty; expected a header line with the columns {','.join(required)}")
    if not rows:
        raise DataError(f"{path}: no data rows after the header")
    return rows


def decode_utf8(path: Path) -> str:
    """The file's text; a missing file, a folder, NUL bytes or non-UTF-8 bytes raise DataError."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a CSV or TSV file")
    data = path.read_bytes()
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: contains a NUL byte; expected a UTF-8 text file (is it binary or "
                        "UTF-16?)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not valid UTF-8 (byte 0x{data[e.start]:02x}); save the file as "
                        "UTF-8, e.g. iconv -f latin1 -t utf-8") from None
    return text.removeprefix("\ufeff")


def _check_header(path: Path, line: int, header: list[str], required: tuple[str, ...], kind: str) -> None:
    duplicated = sorted({c for c in header if header.count(c) > 1 and c})
    if duplicated:
        raise DataError(f"{path}, line {line}: column {duplicated[0]!r} appears twice in the header")
    missing = [c for c in required if c not in header]
    other = {"tab-separated": (",", "comma-separated", ".csv"), "comma-separated": ("\t", "tab-separated", ".tsv")}
    sep, found, suffix = other.get(kind, ("", "", ""))
    if missing and len(header) == 1 and sep and sep in header[0]:
        raise DataError(f"{path}, line {line}: the header is one field holding {sep!r}: the file looks {found}, "
                        f"but its name says {kind}; rename it to {suffix} (or use {kind} fields)")
    if missing:
        raise DataError(f"{path}, line {line}: missing column(s) {','.join(missing)}; expected a {kind} header "
                        f"with {','.join(required)}, got {','.join(header)}")
