"""Where and how training runs: device, seeds and deterministic mode, mixed precision, RNG snapshots."""

from __future__ import annotations

import os
import random
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch

from rnnkit.training.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when available; asking for CUDA without it is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} requested but CUDA is not available here; use --device cpu")
        index = torch.device(name).index or 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    return torch.device(name)


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices); optionally allow only deterministic algorithms."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")   # needed by deterministic cuBLAS
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


class Precision:
    """Mixed precision: `autocast()` for the forward pass and, for fp16, a gradient scaler.

    fp32 does nothing. bf16 runs the forward under `torch.autocast` in bfloat16 (CPU, or CUDA with bf16
    support); it needs no loss scaling. fp16 needs CUDA and scales the loss so small gradients do not
    underflow; steps whose scaled gradients overflow are skipped by the scaler, which lowers the scale.
    """

    def __init__(self, mode: str, device: torch.device) -> None:
        if mode not in ("fp32", "bf16", "fp16"):
            raise ConfigError(f"precision must be fp32, bf16 or fp16, got {mode!r}")
        if mode == "fp16" and device.type != "cuda":
            raise ConfigError("precision fp16 needs a CUDA device (loss-scaled fp16 autocast); on CPU use bf16 "
                              "or fp32")
        if mode == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError("precision bf16 is not supported by this GPU; use fp16 or fp32")
        self.mode, self.device = mode, device
        self.dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[mode]
        self.scaler = torch.amp.GradScaler(device.type) if mode == "fp16" else None
        if self.scaler is not None:
            # Steppers seed backward with the scale themselves (TBPTT back-propagates link by link), so the
            # scaler never sees a loss: scaling a dummy once sets up its state for unscale_/step/update.
            self.scaler.scale(torch.ones((), device=device))

    def autocast(self) -> AbstractContextManager:
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @property
    def grad_scale(self) -> float:
        return float(self.scaler.get_scale()) if self.scaler is not None else 1.0


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every RNG's state: torch's as tensors, Python's and NumPy's as JSON-able values."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    meta = {"python": _listify(random.getstate()),
            "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda])
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def _listify(x):
    return [_listify(v) for v in x] if isinstance(x, (tuple, list)) else x
