"""Autocast as the recurrent layers see it: which low-precision dtype, if any, is active on a device.

Under `torch.autocast` the fused engines run the recurrence in autocast's dtype where torch.nn's own
kernel for that cell does on that device (autocast's per-op policy: on CPU it lowers the LSTM and Elman
kernels but keeps the GRU in float32), so a layer returns the dtype torch.nn would, whichever engine runs.
The states are then in that dtype, and the layers accept such a state back as the initial state of the
next call (a decoder's loop, `step()`, carried state across batches).
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


_POLICY: dict[tuple[str, str, torch.dtype], bool] = {}


def torch_lowers(mode: str, device_type: str, dtype: torch.dtype) -> bool:
    """Whether autocast to `dtype` runs torch.nn's kernel for `mode` in that dtype on this device type.

    Probed once per (mode, device type, dtype) with a one-unit torch.nn layer, so it follows the policy of
    the installed torch. The probe leaves the random state alone (a resumed run draws exactly what the
    original drew); where it fails (a kernel without that dtype) the answer is True, and it is asked again
    next time.
    """
    key = (mode, device_type, dtype)
    if key not in _POLICY:
        make = {"lstm": lambda: torch.nn.LSTM(1, 1), "gru": lambda: torch.nn.GRU(1, 1),
                "rnn_tanh": lambda: torch.nn.RNN(1, 1),
                "rnn_relu": lambda: torch.nn.RNN(1, 1, nonlinearity="relu")}
        if mode not in make:
            return True
        try:
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                layer = make[mode]().to(device_type)
                with torch.autocast(device_type, dtype=dtype):
                    _POLICY[key] = layer(torch.zeros(1, 1, 1, device=device_type))[0].dtype == dtype
        except (RuntimeError, ValueError, TypeError, AssertionError):
            return True
    return _POLICY[key]
