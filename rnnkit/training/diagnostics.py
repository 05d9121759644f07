"""Diagnostics that make the course visible: gradient norms, per-step ||dL/dh_t||, gate saturation, memory.

* `grad_norm`: the global L2 norm of all gradients of one update (before clipping).
* `probe`: re-runs one batch with every rnnkit recurrent layer unrolled step by step, so that each step's
  hidden state h_t is a tensor of its own, and reads
    - ||dJ/dh_t||: how much of the update's objective J reaches step t through every later step
      (the recurrence and the outputs): the picture of vanishing or exploding gradients;
    - ||dl_T/dh_t|| for the loss l_T of the last step alone: the textbook decay with distance T - t;
    - gate saturation from each step's recorded gates (`return_record=True`): the share of sigmoid gates
      below 0.05 or above 0.95 (tanh units beyond +-0.95), where their gradient nearly vanishes.
* `PeakMemory`: peak memory of each update: the allocator's peak on CUDA; on CPU the process's peak
  resident set size (Linux: VmHWM from /proc/self/status, reset before each update through
  /proc/self/clear_refs; elsewhere the lifetime peak from `resource`, which never goes down).
"""

from __future__ import annotations

import contextlib
import resource
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnkit.engines.reference import run_direction
from rnnkit.layers import RecurrentLayer

SIGMOID_GATES = {"lstm": ("i", "f", "o"), "gru": ("r", "z"), "rnn_tanh": (), "rnn_relu": ()}
TANH_UNITS = {"lstm": ("g",), "gru": ("n",), "rnn_tanh": ("h",), "rnn_relu": ()}


def grad_norm(params: list[Tensor]) -> float:
    """Global L2 norm of the gradients (inf or nan if any entry is)."""
    norms = [p.grad.detach().float().norm() for p in params if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0


def first_nonfinite(named: list[tuple[str, Tensor]], grads: bool = True) -> tuple[str, str] | None:
    """(name, 'nan'|'inf') of the first parameter (or its gradient) that is not finite."""
    for name, p in named:
        t = p.grad if grads else p
        if t is None:
            continue
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            return name, "nan" if bool(torch.isnan(t).any()) else "inf"
    return None


# ---- per-step state gradients and gate saturation -------------------------------------------------
@dataclass
class ProbeResult:
    """Per recurrent layer: per-step gradient norms (T,) of each stacked layer, and gate statistics."""

    grad_h: dict[str, list[list[float]]] = field(default_factory=dict)       # module -> [layer][t]
    grad_h_last: dict[str, list[list[float]]] = field(default_factory=dict)  # same, last step's loss only
    gates: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # name -> gate -> stats

    def rows(self, step: int) -> tuple[list[dict], list[dict]]:
        """Flat CSV rows: (state-gradient rows, gate rows)."""
        grads = [{"step": step, "module": name, "layer": k, "t": t, "grad_h": g,
                  "grad_h_last": self.grad_h_last.get(name, [[None] * len(norms)] * (k + 1))[k][t]}
                 for name, layers in self.grad_h.items() for k, norms in enumerate(layers)
                 for t, g in enumerate(norms)]
        gates = [{"step": step, "module": name, "gate": gate, **stats}
                 for name, per in self.gates.items() for gate, stats in per.items()]
        return grads, gates


def probe(model: nn.Module, run: Callable[[], tuple[Tensor, Tensor | None]]) -> ProbeResult:
    """Run `run()` (a forward returning (objective, last-step loss or None)) with every unidirectional
    rnnkit layer unrolled, and measure ||dJ/dh_t||, ||dl_T/dh_t|| and gate saturation."""
    captured: dict[str, list[tuple[list[Tensor], dict]]] = {}
    layers = {name or "rnn": m for name, m in model.named_modules() if isinstance(m, RecurrentLayer)}
    with contextlib.ExitStack() as stack:
        for name, layer in layers.items():
            stack.enter_context(_unrolled(layer, captured.setdefault(name, [])))
        objective, last = run()
    result = ProbeResult()
    hs = [(name, k, h) for name, steps in captured.items() for hk, _ in steps for k, h in enumerate(hk)]
    for key, loss in (("grad_h", objective), ("grad_h_last", last)):
        if loss is None or not hs or not loss.requires_grad:
            continue
        grads = torch.autograd.grad(loss, [h for *_, h in hs], retain_graph=True, allow_unused=True)
        out = getattr(result, key)
        for (name, k, _), g in zip(hs, grads, strict=True):
            per_layer = out.setdefault(name, [[] for _ in range(layers[name].num_layers)])
            per_layer[k].append(0.0 if g is None else float(g.detach().float().norm()))
    for name, steps in captured.items():
        if steps:
            result.gates[name] = _gate_stats(layers[name].mode, [r for _, r in steps])
    return result


@contextlib.contextmanager
def _unrolled(layer: RecurrentLayer, sink: list) -> Iterator[None]:
    """Temporarily run `layer` step by step and layer by layer with the reference engine, so that each
    h_t of each stacked layer is one tensor, used by the next step, the next layer and the output alike;
    keeps (those h_t, the step's gate record). Falls back to the normal forward where that does not apply
    (lengths, packed or unbatched input, bidirectional, active recurrent dropout)."""
    original = layer.forward

    def forward(input, hx=None, lengths=None, *, return_record=False):
        if (lengths is not None or isinstance(input, PackedSequence) or layer.bidirectional or input.dim() != 3
                or return_record or (layer.training and layer.recurrent_dropout > 0)):
            return original(input, hx, lengths, return_record=return_record)
        x = input.transpose(0, 1) if layer.batch_first else input              # (T, B, I)
        lstm, L, B = layer.mode == "lstm", layer.num_layers, x.shape[1]
        if hx is None:
            h = [x.new_zeros(B, layer.output_size) for _ in range(L)]
            c = [x.new_zeros(B, layer.hidden_size) for _ in range(L)]
        else:
            h = list((hx[0] if lstm else hx).unbind(0))
            c = list(hx[1].unbind(0)) if lstm else []
        weights = [layer.direction_weights(k, 0) for k in range(L)]
        outs = []
        for x_t in x.unbind(0):
            inp, rec = x_t, {}
            for k in range(L):
                res = run_direction(layer.mode, inp.unsqueeze(0), (h[k], c[k]) if lstm else (h[k],), weights[k],
                                    record=True)
                h[k] = res.state[0]
                if lstm:
                    c[k] = res.state[1]
                for gate, v in res.record.items():
                    rec.setdefault(gate, []).append(v[0])
                inp = F.dropout(h[k], layer.dropout, layer.training) if layer.dropout and k < L - 1 else h[k]
            sink.append((list(h), rec))
            outs.append(h[-1])
        out = torch.stack(outs)                                                 # (T, B, P)
        state = (torch.stack(h), torch.stack(c)) if lstm else torch.stack(h)
        return (out.transpose(0, 1) if layer.batch_first else out), state

    layer.forward = forward
    try:
        yield
    finally:
        del layer.forward   # back to the class's forward


def _gate_stats(mode: str, records: list[dict[str, list[Tensor]]]) -> dict[str, dict[str, float]]:
    stats = {}
    for gate in SIGMOID_GATES.get(mode, ()) + TANH_UNITS.get(mode, ()):
        if gate not in records[0]:
            continue
        v = torch.cat([torch.cat(r[gate]).detach().float().flatten() for r in records])
        lo, hi = (0.05, 0.95) if gate in SIGMOID_GATES.get(mode, ()) else (-0.95, 0.95)
        stats[gate] = {"mean": float(v.mean()), "low": float((v < lo).float().mean()),
                       "high": float((v > hi).float().mean()), "saturated": float(((v < lo) | (v > hi)).float().mean())}
    return stats


# ---- memory ---------------------------------------------------------------------------------------
class PeakMemory:
    """Peak memory (MiB) between `reset()` and `peak()`: CUDA allocator peak, or CPU peak RSS."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._proc = Path("/proc/self/status").exists()
        self._can_reset = self._proc and _try_clear_refs()

    @property
    def kind(self) -> str:
        if self.device.type == "cuda":
            return "cuda_peak_allocated"
        return "rss_peak" if self._can_reset else "rss_peak_lifetime"

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        elif self._can_reset:
            _try_clear_refs()

    def peak(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        if self._proc:
            return _status_kib("VmHWM") / 1024
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def current_rss_mib() -> float:
    """The resident set size now (Linux), else the lifetime peak."""
    if Path("/proc/self/status").exists():
        return _status_kib("VmRSS") / 1024
    return PeakMemory(torch.device("cpu")).peak()


def _status_kib(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1])
    return float("nan")


def _try_clear_refs() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")       # 5: reset the peak resident set size (Linux >= 4.0)
        return True
    except OSError:
        return False
