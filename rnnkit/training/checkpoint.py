"""Checkpoints: tensors in safetensors, everything else in JSON, written atomically, never unpickled.

A checkpoint is a folder (a run keeps `checkpoints/last` and `checkpoints/best`) holding

    checkpoint.json             manifest: format, version, file names with their SHA-256, and JSON state
                                (run config, counters, optimizer hyper-parameters, scheduler, RNG, ...)
    model-<id>.safetensors      the model's state_dict
    train-<id>.safetensors      optimizer state tensors, torch RNG states, the stepper's carried state

Atomic writes: a save writes its tensor files under fresh names (temp file, fsync, rename), then writes
the manifest to a temp file and `os.replace`s it over checkpoint.json: that rename is the single commit
point. A crash or kill at any moment leaves the previous checkpoint complete and loadable; files no
manifest refers to are removed after the commit. Loading verifies every file's SHA-256 and refuses
corrupt, foreign or mismatched checkpoints with one clear message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
from torch import Tensor, nn

from rnnkit.training.errors import CheckpointError, NonFiniteError

FORMAT = "rnnkit-checkpoint"
VERSION = 1
MANIFEST = "checkpoint.json"


@dataclass
class Checkpoint:
    path: Path
    model: dict[str, Tensor]       # the model's state_dict
    tensors: dict[str, Tensor]     # training-state tensors (optimizer, RNG, stepper)
    meta: dict[str, Any]           # JSON state


# ---- saving ---------------------------------------------------------------------------------------
def save_checkpoint(folder: str | Path, model_state: dict[str, Tensor], tensors: dict[str, Tensor],
                    meta: dict[str, Any]) -> Path:
    """Write a checkpoint atomically (see the module docstring); refuses non-finite weights."""
    folder = Path(folder)
    for name, t in model_state.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise NonFiniteError(f"refusing to save a checkpoint whose weight {name!r} is not finite; "
                                 f"the previous checkpoint in {folder} is kept")
    folder.mkdir(parents=True, exist_ok=True)
    uid = f"{meta.get('trainer', {}).get('step', 0):09d}-{secrets.token_hex(4)}"
    files = {"model": f"model-{uid}.safetensors", "train": f"train-{uid}.safetensors"}
    digests = {files["model"]: _write_tensors(folder / files["model"], model_state),
               files["train"]: _write_tensors(folder / files["train"], tensors)}
    manifest = {"format": FORMAT, "version": VERSION, "files": files, "sha256": digests, "meta": meta}
    write_atomic(folder / MANIFEST, json.dumps(manifest, indent=1).encode())
    for f in folder.iterdir():   # drop older generations and stray temp files, only ours
        if f.is_file() and f.name not in files.values() and (
                f.name.startswith((".tmp-", "model-", "train-")) and f.name != MANIFEST):
            f.unlink(missing_ok=True)
    return folder


def _write_tensors(path: Path, tensors: dict[str, Tensor]) -> str:
    data = safetensors.torch.save({k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()})
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then `os.replace` (atomic on POSIX and Windows)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            _open_mode(f.fileno())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):   # make the rename itself durable
        dfd = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _read_umask() -> int:
    """The process umask, read once at import (reading it means setting it, so not while threads write)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _open_mode(fd: int) -> None:
    """Give a mkstemp file (0600) the mode open() would have given it, where the filesystem allows."""
    if hasattr(os, "fchmod"):
        with contextlib.suppress(OSError):   # e.g. a mount without POSIX modes: 0600 still works
            os.fchmod(fd, 0o666 & ~_UMASK)


# ---- loading --------------------------------------------------------------------------------------
def find_checkpoint(path: str | Path, prefer: tuple[str, ...] = ("best", "last")) -> Path:
    """A checkpoint folder from a checkpoint folder or a run folder (its `best`, else `last`)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: it does not exist")
    if (path / MANIFEST).is_file():
        return path
    for tag in prefer:
        if (path / "checkpoints" / tag / MANIFEST).is_file():
            return path / "checkpoints" / tag
    raise CheckpointError(f"no checkpoint in {path}: expected {MANIFEST} there or in "
                          f"{path}/checkpoints/{{{','.join(prefer)}}}")


def load_checkpoint(folder: str | Path) -> Checkpoint:
    """Read and verify a checkpoint folder; every problem becomes one CheckpointError line."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise CheckpointError(f"{folder} is not an rnnkit checkpoint: {MANIFEST} is missing")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"corrupt checkpoint {manifest_path}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{manifest_path} is not an rnnkit checkpoint manifest")
    if manifest.get("version") != VERSION:
        raise CheckpointError(f"{manifest_path} has checkpoint format version {manifest.get('version')!r}; "
                              f"this rnnkit reads version {VERSION}")
    loaded = {}
    for key in ("model", "train"):
        name = manifest["files"][key]
        data = _read(folder / name)
        if hashlib.sha256(data).hexdigest() != manifest["sha256"].get(name):
            raise CheckpointError(f"corrupt checkpoint: {folder / name} does not match the SHA-256 recorded in "
                                  f"{MANIFEST} (the file was modified or truncated)")
        try:
            loaded[key] = safetensors.torch.load(data)
        except Exception as e:  # safetensors raises several types for malformed data
            raise CheckpointError(f"corrupt checkpoint: cannot read {folder / name}: {e}") from None
    return Checkpoint(folder, loaded["model"], loaded["train"], manifest["meta"])


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"corrupt checkpoint: {path} is missing") from None


def load_model_state(model: nn.Module, state: dict[str, Tensor], where: str | Path = "checkpoint") -> None:
    """Load weights after checking names and shapes, naming the first mismatches."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}"
              for k, v in own.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing weight(s) ({', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected weight(s) ({', '.join(unexpected[:3])})")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es) ({'; '.join(shapes[:2])})")
    if problems:
        raise CheckpointError(f"{where} does not match this model: {', '.join(problems)}")
    model.load_state_dict(state)


# ---- JSON + tensors encoding of nested state (optimizer, scheduler, scaler) ------------------------
def split_state(obj: Any, prefix: str, tensors: dict[str, Tensor]) -> Any:
    """JSON-able form of `obj` whose tensors move into `tensors` under `prefix...` keys."""
    if isinstance(obj, Tensor):
        key = f"{prefix}#{len(tensors)}"
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: split_state(v, prefix, tensors) for k, v in obj.items()}
        return {"__dict__": [[split_state(k, prefix, tensors), split_state(v, prefix, tensors)]
                             for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [split_state(v, prefix, tensors) for v in obj]}
    if isinstance(obj, list):
        return [split_state(v, prefix, tensors) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint (at {prefix})")


def join_state(obj: Any, tensors: dict[str, Tensor]) -> Any:
    """Inverse of `split_state`."""
    if isinstance(obj, list):
        return [join_state(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        key = obj["__tensor__"]
        if key not in tensors:
            raise CheckpointError(f"corrupt checkpoint: tensor {key!r} is missing")
        return tensors[key]
    if "__ndarray__" in obj:
        return np.array(obj["__ndarray__"], dtype=obj["dtype"])
    if "__dict__" in obj:
        return {join_state(k, tensors): join_state(v, tensors) for k, v in obj["__dict__"]}
    if "__tuple__" in obj:
        return tuple(join_state(v, tensors) for v in obj["__tuple__"])
    return {k: join_state(v, tensors) for k, v in obj.items()}
