"""Your own recordings: a folder of audio files and `transcripts.tsv` listing them.

    DIR/transcripts.tsv      UTF-8, tab-separated, a header row naming the columns, then one row per file:

        file            text                        speaker     split
        alice/001.wav   three hundred and forty two alice       train
        bob/001.wav     seven                       bob         test

`file` (a path relative to DIR) and `text` are required; `speaker` and `split` are optional. Blank lines
are skipped. The audio is WAV (or FLAC/OGG), any bit depth, mono or multichannel (averaged); its sample
rate must equal --sample-rate unless --resample is given (`audio`). The transcript is normalised by the
alphabet (lower case, single spaces) and may hold no other characters (`alphabet`).

Splits: the `split` column (train / valid / test; without valid rows a share of train is held out), else
whole speakers held out when the `speaker` column names at least three, else a random share of the files.
Every problem stops the run with one line naming the transcript file, the row and the problem.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.tasks.asr.alphabet import Alphabet
from rnnkit.tasks.asr.audio import read_audio
from rnnkit.tasks.asr.features import FeatureSpec, log_mel, one_blas_thread
from rnnkit.tasks.asr.utterances import Utterances
from rnnkit.training.errors import DataError

TRANSCRIPTS = "transcripts.tsv"
COLUMNS = ("file", "text", "speaker", "split")
SPLIT_NAMES = ("train", "valid", "test")


@dataclass(frozen=True)
class Row:
    line: int
    file: Path
    text: str                         # normalised
    speaker: str
    split: str | None

    def where(self, tsv: Path) -> str:
        return f"{tsv} line {self.line}"


def read_transcripts(folder: str | Path, alphabet: Alphabet) -> tuple[Path, list[Row], tuple[str, ...]]:
    """(the transcript file, its rows, its columns); DataError on the first malformed row."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"{folder}: no such folder (expected a folder of WAV files with {TRANSCRIPTS})")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (expected a folder of WAV files with {TRANSCRIPTS})")
    tsv = folder / TRANSCRIPTS
    if not tsv.is_file():
        raise DataError(f"{folder}: no {TRANSCRIPTS} (expected a header line file<TAB>text and one line per "
                        "WAV file)")
    try:
        lines = tsv.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        line = tsv.read_bytes()[:e.start].count(b"\n") + 1
        raise DataError(f"{tsv} line {line}: not UTF-8 text (byte {e.object[e.start]:#04x}); save the file as "
                        "UTF-8") from None
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    if not numbered:
        raise DataError(f"{tsv}: empty file (expected a header line file<TAB>text)")
    head_line, head = numbered[0]
    columns = tuple(c.strip().lower() for c in head.split("\t"))
    for c in columns:
        if c not in COLUMNS or columns.count(c) > 1:
            problem = "repeated" if c in COLUMNS else "unknown"
            raise DataError(f"{tsv} line {head_line}: {problem} column {c!r} in the header; expected tab-separated "
                            f"file, text and optionally speaker, split")
    if "file" not in columns or "text" not in columns:
        raise DataError(f"{tsv} line {head_line}: the header must name the columns file and text (tab-separated), "
                        f"got {head[:80]!r}")
    rows: list[Row] = []
    seen: dict[Path, int] = {}
    for n, line in numbered[1:]:
        fields = line.split("\t")
        if len(fields) != len(columns):
            raise DataError(f"{tsv} line {n}: expected {len(columns)} tab-separated fields ({', '.join(columns)}), "
                            f"got {len(fields)}")
        value = {c: f.strip() for c, f in zip(columns, fields, strict=True)}
        if not value["file"]:
            raise DataError(f"{tsv} line {n}: empty file name")
        path = folder / value["file"]
        if path in seen:
            raise DataError(f"{tsv} line {n}: {value['file']} is listed twice (first on line {seen[path]})")
        seen[path] = n
        split = value.get("split") or None
        if "split" in columns and split not in SPLIT_NAMES:
            raise DataError(f"{tsv} line {n}: split must be train, valid or test, got {value['split']!r}")
        text = alphabet.check(value["text"], f"{tsv} line {n}")
        rows.append(Row(n, path, text, value.get("speaker") or "", split))
    if not rows:
        raise DataError(f"{tsv}: no utterances below the header")
    return tsv, rows, columns


def assign_splits(rows: list[Row], columns: tuple[str, ...], valid_fraction: float, test_fraction: float,
                  seed: int, tsv: Path) -> list[str]:
    """One split name per row (see the module docstring)."""
    rng = np.random.default_rng(seed)
    if "split" in columns:
        splits = [r.split or "train" for r in rows]
        for needed in ("train", "test"):
            if needed not in splits:
                raise DataError(f"{tsv}: the split column marks no row {needed}; a run needs both train and test")
        if "valid" not in splits:
            train = [i for i, s in enumerate(splits) if s == "train"]
            for i in rng.permutation(train)[:_share(len(train), valid_fraction, tsv, "training rows")]:
                splits[i] = "valid"
        return splits
    speakers = sorted({r.speaker for r in rows})
    if "speaker" in columns and len(speakers) >= 3:
        order = [speakers[i] for i in rng.permutation(len(speakers))]
        n_test = _share(len(order), test_fraction, tsv, "speakers")
        n_valid = _share(len(order) - n_test, valid_fraction, tsv, "speakers")
        held = {s: "test" for s in order[:n_test]} | {s: "valid" for s in order[n_test:n_test + n_valid]}
        return [held.get(r.speaker, "train") for r in rows]
    order = rng.permutation(len(rows))
    n_test = _share(len(rows), test_fraction, tsv, "files")
    n_valid = _share(len(rows) - n_test, valid_fraction, tsv, "files")
    splits = ["train"] * len(rows)
    for k, i in enumerate(order[:n_test + n_valid]):
        splits[i] = "test" if k < n_test else "valid"
    return splits


def _share(total: int, fraction: float, tsv: Path, what: str) -> int:
    n = max(1, round(total * fraction))
    if n >= total:
        raise DataError(f"{tsv}: only {total} {what}, too few to hold some out and train on the rest")
    return n


def load_user_data(folder: str | Path, alphabet: Alphabet, spec: FeatureSpec, *, resample: bool,
                   valid_fraction: float, test_fraction: float, seed: int, progress: bool = True
                   ) -> dict[str, Utterances]:
    """The three splits of a transcript folder as log-mel features."""
    from tqdm import tqdm

    tsv, rows, columns = read_transcripts(folder, alphabet)
    splits = assign_splits(rows, columns, valid_fraction, test_fraction, seed, tsv)
    feats = []
    with one_blas_thread():
        for r in tqdm(rows, disable=not progress, unit="file", desc="features", leave=False, file=sys.stderr):
            wave = read_audio(r.file, spec.sample_rate, resample=resample, min_samples=spec.n_fft,
                              where=f"{r.file} ({r.where(tsv)})")
            feats.append(log_mel(wave, spec))
    everything = Utterances(feats, [r.text for r in rows], [r.speaker for r in rows],
                            [str(r.file) for r in rows])
    return {name: everything.subset([i for i, s in enumerate(splits) if s == name]) for name in SPLIT_NAMES}
