"""Results of `rnnkit bench`: one row per (case, contender), written as JSON and as a markdown table."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from rnnkit.bench.cases import Case


@dataclass
class Timing:
    """One contender in one mode (forward or forward+backward)."""

    ms: float                    # median time per call
    ratio: float | None          # median per-round ratio to torch.nn (None for torch.nn itself)
    tokens_per_s: float          # B*T / time
    gflops: float                # unavoidable GEMM GFLOP per second
    peak_fraction: float         # gflops / measured square-GEMM peak
    spread: float                # (max - min) / median of the rounds
    rounds_ms: list[float] = field(default_factory=list)


@dataclass
class Row:
    case: Case
    contender: str
    fwd: Timing | None = None
    fwdbwd: Timing | None = None
    peak_mb: float | None = None  # peak memory of one forward+backward above what was in use before
    auto: str = ""               # for contender "auto": the engine it picked (fwd / fwd+bwd)


def environment(device: torch.device, gemm_peak_gflops: float) -> dict:
    from rnnkit.engines import native

    env = {
        "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
        "device": str(device), "mkldnn": torch.backends.mkldnn.is_available(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "native_loops": native.loops() is not None if device.type == "cpu" else False,
        "gemm_peak_gflops": round(gemm_peak_gflops, 1),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
        env["cudnn"] = torch.backends.cudnn.version()
    return env


def write_json(path: Path, env: dict, config: dict, rows: list[Row]) -> None:
    data = {"environment": env, "config": config,
            "results": [{**asdict(r), "case": {**asdict(r.case), "label": r.case.label}} for r in rows]}
    path.write_text(json.dumps(data, indent=1))


def _fmt(v: float | None, digits: int = 3) -> str:
    if v is None:
        return "-"
    if v == 0:
        return "0"
    if abs(v) >= 10**digits:
        return f"{v:.3g}" if abs(v) >= 1e5 else f"{v:.0f}"
    return f"{v:.{digits}g}"


HEADER = ("| case | contender | fwd ms | fwd x nn | fwd tok/s | fwd GFLOP/s | fwd % peak | f+b ms | f+b x nn "
          "| f+b tok/s | f+b GFLOP/s | f+b % peak | peak MB | spread |")


def markdown_row(r: Row) -> str:
    name = r.contender + (f" ({r.auto})" if r.auto else "")
    cells = [r.case.label, name]
    for t in (r.fwd, r.fwdbwd):
        if t is None:
            cells += ["-"] * 5
        else:
            cells += [_fmt(t.ms), _fmt(t.ratio, 2) if t.ratio is not None else "1.00", _fmt(t.tokens_per_s),
                      _fmt(t.gflops), f"{100 * t.peak_fraction:.0f}%"]
    cells += [_fmt(r.peak_mb), f"{100 * r.fwdbwd.spread:.0f}%" if r.fwdbwd else "-"]
    return "| " + " | ".join(cells) + " |"


def markdown(env: dict, config: dict, rows: list[Row]) -> str:
    lines = [
        "# rnnkit bench",
        "",
        "Environment: " + ", ".join(f"{k}={v}" for k, v in env.items()) + ".",
        "Config: " + ", ".join(f"{k}={v}" for k, v in config.items()) + ".",
        "",
        "Times are medians over interleaved rounds; `x nn` is the median per-round ratio to the torch.nn module "
        "(below 1 = faster). GFLOP/s count only the unavoidable GEMMs (forward 2*T*B*gH*(I+H) per layer and "
        "direction, forward+backward 3x that); `% peak` is that rate over the measured square-GEMM peak. "
        "`peak MB` is the peak memory of one forward+backward above what was in use before it; `spread` is "
        "(max-min)/median of the forward+backward rounds. `auto (x / y)` names the engine auto ran in forward / "
        "forward+backward.",
        "",
        HEADER,
        "|" + "---|" * (HEADER.count("|") - 1),
    ]
    lines += [markdown_row(r) for r in rows]
    return "\n".join(lines) + "\n"
