"""Compiled CPU time loops for the fused engine, built on first use from `csrc/recurrence.cpp`.

The fused engine's per-step work is tiny at small shapes (a (B, H) x (H, 4H) product and some gate
math), so on CPU the cost of a Python or TorchScript loop is the framework overhead of 30-90 ops per
step, not arithmetic (perf-baseline.md). `recurrence.cpp` runs the same loops with one
register-blocked GEMM and one vectorised pass over the gates per step (no framework call inside
the loop), in float32 and float64. It is compiled with `torch.utils.cpp_extension` the first time
the fused engine runs on CPU (10-20 s once; cached under `TORCH_EXTENSIONS_DIR`, by default
`~/.cache/torch_extensions`), needs only the C++ compiler and ninja that cpp_extension uses, and no
network. Where it cannot be built (no compiler, an unusual platform) or `RNNKIT_NATIVE=0` is set,
`loops()` returns None and the engine runs its Python loops instead (after one RuntimeWarning when a
build failed). Each (CPU, source, flags) gets its own build folder, so two checkouts never rebuild each
other's library, and a build killed half-way cannot leave later runs waiting for its lock (see `_build`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import threading
import warnings
from pathlib import Path

import torch

_SOURCE = Path(__file__).with_name("csrc") / "recurrence.cpp"
_OPS = ("linear", "matmul", "lstm_forward", "lstm_backward", "gru_forward", "gru_backward", "elman_forward",
        "elman_backward")
_lock = threading.Lock()
_BUILD_TIMEOUT = 900.0      # seconds to wait for another process's build before using the Python loops
_state: dict[str, object] = {}


def _cpu_tag() -> str:
    """A short fingerprint of the CPU, so a build made with -march=native is never loaded elsewhere."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        pass
    return hashlib.sha1(f"{platform.machine()}|{flags}".encode()).hexdigest()[:10]


def _build():
    from filelock import FileLock
    from torch.utils import cpp_extension

    flags = ["-O3", "-fopenmp", "-std=c++20", "-ffp-contract=off"]
    if platform.machine() in ("x86_64", "AMD64"):
        flags.append("-march=native")
    # one build folder per (CPU, source, flags): checkouts of different versions never rebuild each other's
    tag = hashlib.sha1(_cpu_tag().encode() + _SOURCE.read_bytes() + " ".join(flags).encode()).hexdigest()[:10]
    name = f"rnnkit_native_{tag}"
    where = getattr(cpp_extension, "_get_build_directory", None)
    folder = Path(where(name, False)) if where else None
    # cpp_extension's own build lock is a plain file: a build killed mid-way (SIGKILL, power loss) leaves it
    # behind and every later load waits for it forever. Every rnnkit build first takes this OS lock, which
    # dies with its process, so a `lock` file found while holding it belongs to a dead build.
    guard = FileLock(folder / "rnnkit-build.flock", timeout=_BUILD_TIMEOUT) if folder else contextlib.nullcontext()
    with guard:
        if folder is not None:
            (folder / "lock").unlink(missing_ok=True)
        cpp_extension.load(name=name, sources=[str(_SOURCE)], extra_cflags=flags, extra_ldflags=["-fopenmp"],
                           is_python_module=False, verbose=False)
    ops = torch.ops.rnnkit_native
    missing = [name for name in _OPS if not hasattr(ops, name)]
    if missing:  # e.g. a library built from an older source by another process
        raise RuntimeError(f"the loaded library lacks {missing}")
    return ops


def loops():
    """The compiled `torch.ops.rnnkit_native` namespace, or None where it is unavailable."""
    if "ops" in _state:
        return _state["ops"]
    with _lock:
        if "ops" not in _state:
            ops = None
            if os.environ.get("RNNKIT_NATIVE", "1") != "0" and _SOURCE.exists():
                try:
                    ops = _build()
                except Exception as e:  # any build failure means: use the Python loops
                    warnings.warn(f"rnnkit: compiled RNN loops unavailable ({type(e).__name__}: {e}); "
                                  "the fused engine uses its Python loops", RuntimeWarning, stacklevel=3)
            _state["ops"] = ops
    return _state["ops"]


def usable(x: torch.Tensor) -> bool:
    """Whether the compiled loops can run on tensors like x (CPU, float32/float64)."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and loops() is not None
