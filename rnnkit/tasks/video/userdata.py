"""User video data: a folder of NumPy clips and a CSV `file,label[,split]` listing them.

    file,label
    clips/0001.npy,wave
    clips/0002.npy,clap

Each `.npy` file holds one clip: (T, H, W) grayscale or (T, H, W, C) with C = 1 or 3 channels last,
dtype uint8 (0..255, scaled to [0, 1]) or float (used as is; it must be finite). Every clip must have
the same H, W and C; T may differ (the model reads each clip's real frames only). Files are read
with `allow_pickle=False`, so a file can hold numbers only, never code. Labels are any strings; the
classes are the sorted distinct labels of the training split. See `caption.manifest` for the CSV checks
and the default 80/10/10 split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.tasks.video.data import SPLITS, ClipSet, VideoData
from rnnkit.tasks.vision.manifest import assign_splits, read_manifest
from rnnkit.training.errors import DataError


def _magic(path: str | Path) -> bytes:
    """The first 6 bytes: b"\\x93NUMPY" for a .npy file (numpy.save), b"PK..." for a .npz archive."""
    with open(path, "rb") as f:
        return f.read(6)


def load_clip(path: str | Path, where: str = "") -> np.ndarray:
    """One clip as (T, C, H, W) float32; DataError (one line, naming `where`) when malformed."""
    place = where or str(path)
    if Path(path).is_dir():
        raise DataError(f"{place}: is a folder; expected a clip saved with numpy.save (.npy)")
    if not Path(path).is_file():
        raise DataError(f"{place}: clip file not found")
    magic = _magic(path)
    if not (magic == b"\x93NUMPY" or magic.startswith(b"PK")):   # neither .npy nor .npz (a CSV, an image...)
        raise DataError(f"{place}: not a .npy file; a clip is an array saved with numpy.save, shape (T, H, W) "
                        "or (T, H, W, C)")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{place}: not a NumPy .npy array of numbers ({' '.join(str(e).split())})") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{place}: expected one array in a .npy file, got an .npz archive")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise DataError(f"{place}: expected a clip of shape (T, H, W) or (T, H, W, C) with C = 1 or 3, "
                        f"got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0 or arr.shape[2] == 0:
        raise DataError(f"{place}: the clip is empty (shape {arr.shape})")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all():
            t = int(np.argwhere(~np.isfinite(arr))[0][0])
            raise DataError(f"{place}: non-finite value (NaN or inf) in frame {t}")
    else:
        raise DataError(f"{place}: expected dtype uint8 (0..255) or float, got {arr.dtype}")
    return arr.transpose(0, 3, 1, 2)                      # (T, C, H, W)


def stack_clips(clips: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Clips (T_i, C, H, W) -> zero-padded (N, T_max, C, H, W) and lengths (N,)."""
    lengths = np.asarray([len(c) for c in clips], dtype=np.int64)
    out = np.zeros((len(clips), int(lengths.max()), *clips[0].shape[1:]), np.float32)
    for i, c in enumerate(clips):
        out[i, :len(c)] = c
    return out, lengths


def load_clip_csv(path: str | Path, seed: int = 0, classes: list[str] | None = None,
                  stratify: bool = True) -> VideoData:
    """The clips a `file,label[,split]` CSV lists, split three ways (without a split column: seeded, and
    stratified by label unless `stratify` is False); `classes` (a trained model's) fixes the ids."""
    path = Path(path)
    rows = read_manifest(path, "label")
    seen: dict[Path, int] = {}
    for r in rows:
        if r.file in seen:
            raise DataError(f"{path}, line {r.line}: {r.name!r} is listed twice (first on line {seen[r.file]}); "
                            "a clip has one label")
        seen[r.file] = r.line
    split_of = assign_splits(rows, path, seed, stratify=stratify)
    clips, shape = {}, None
    for r in rows:
        clip = load_clip(r.file, where=f"{path}, line {r.line}: {r.name}")
        if shape is None:
            shape = clip.shape[1:]
        elif clip.shape[1:] != shape:
            raise DataError(f"{path}, line {r.line}: {r.name} has frames of (C, H, W) = {clip.shape[1:]}, but "
                            f"earlier clips have {shape}; every clip needs the same frame size")
        clips[r.file] = clip
    if classes is None:
        classes = sorted({r.value for r in rows if split_of[r.file] == "train"})
    index = {c: i for i, c in enumerate(classes)}
    for r in rows:
        if r.value not in index:
            raise DataError(f"{path}, line {r.line}: label {r.value!r} is not a training label "
                            f"({', '.join(classes[:10])}{', ...' if len(classes) > 10 else ''})")
    if len(classes) < 2:
        raise DataError(f"{path}: the training clips have {len(classes)} label(s) ({', '.join(classes)}); a "
                        "classifier needs at least 2")
    sets = {}
    for split in SPLITS:
        part = [r for r in rows if split_of[r.file] == split]
        x, lengths = stack_clips([clips[r.file] for r in part])
        labels = np.asarray([index[r.value] for r in part], dtype=np.int64)
        sets[split] = ClipSet(x, labels, lengths, [r.name for r in part])
    return VideoData(**sets, classes=classes, credits=[f"Clips and labels: {path} (your data)"],
                     description=f"{len(rows)} clips in {len(classes)} classes from {path}")
