"""Autocast as the recurrent layers see it: which low-precision dtype, if any, is active on a device.

Under `torch.autocast` the fused engines run the recurrence in autocast's dtype (as torch.nn's fused
kernels do), so the states they return are in that dtype; the layers accept such a state back as the
initial state of the next call (a decoder's loop, `step()`, carried state across batches).
"""

from __future__ import annotations

import torch


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast casts to on this device type, or None when autocast is off (or does not exist
    there, e.g. on the meta device)."""
    try:
        enabled = torch.is_autocast_enabled(device_type)
    except RuntimeError:   # "unknown device type for autocast"
        return None
    return torch.get_autocast_dtype(device_type) if enabled else None


def lowers(x: torch.Tensor, dtype: torch.dtype | None) -> bool:
    """Whether autocast (to `dtype`) runs ops on `x` in its low precision: on float32 or half inputs, never
    on float64 ones."""
    return dtype is not None and x.dtype in (torch.float32, torch.float16, torch.bfloat16)
