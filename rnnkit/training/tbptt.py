"""Truncated back-propagation through time, TBPTT(k1, k2), as defined by Williams & Peng (1990).

The recurrent state runs forward over the whole stream, once. Every k1 steps an update back-propagates
through the last k2 steps (k2 >= k1). The update at step t (t = k1, 2*k1, ...) follows the gradient of

    J_t = (1 / n_t) * sum_{s = t-k1+1 .. t} loss_s        with h_{t-k2} held constant,

where loss_s is the summed loss of step s over the batch rows, n_t the number of targets in those k1
steps, and h_{t-k2} the state after step t-k2 (zeros before the stream starts). So the loss of step s
reaches back to step t-k2+1: between k2-k1+1 and k2 steps. k1 = k2 is the common chunked form (each
chunk's losses reach back to the chunk's start); k2 >= T, the stream length, is full BPTT (every loss
reaches step 1); `stateful=False` treats every batch as an independent sequence (plain BPTT per batch).

When k2 > k1 the windows of consecutive updates overlap: the last k2 - k1 steps of one window are
back-propagated again by the next update. They are not recomputed: the graph of the last k2 steps is
kept alive, and the state is detached only at the steps where some later update's window begins, as a
"leaf" whose gradient is passed back by hand (so one update's gradient never leaks past its own t-k2,
however the windows overlap). The steps of an older block were computed before the parameters were last
updated; their part of the gradient uses the parameter values those steps actually used (a stored copy,
tied to the live parameter), which makes dJ_t/dθ the exact derivative of the computation that produced
the losses. With k1 = k2 nothing is kept between updates.

Memory is bounded by the window: the graph of at most k2 + k1 steps and, when k2 > k1, one parameter
copy per block in the window. For exact resumption, `state_dict` stores the carried state and, when
k2 > k1, what is needed to rebuild the window's graph (inputs, the parameter copies, RNG states).
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call

from rnnkit.training import state as S
from rnnkit.training.bptt import AutocastFactory, UpdateResult, loss_result
from rnnkit.training.errors import CheckpointError
from rnnkit.training.streams import StreamBatch


class _Alias(torch.autograd.Function):
    """Feed a stored value of a parameter to the forward, and send its gradient to the live parameter."""

    @staticmethod
    def forward(ctx, param: Tensor, value: Tensor) -> Tensor:
        return value

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad, None


@dataclass
class _Link:
    """Steps [t_start, t_end) of the stream: graph from a leaf `start` state (None at a stream start) to `end`."""

    start: Any
    end: Any
    t_start: int
    t_end: int
    loss: Tensor | None = None      # summed loss of this link's steps that lie in the current block


@dataclass
class _Block:
    """One k1-step block of a retained window, as needed to rebuild its graph on resume."""

    t0: int
    x: Tensor
    reset: Tensor | None
    params: dict[str, Tensor]
    rng: dict[int, list[Tensor]]    # RNG states before each piece of the block, by start column


class TBPTT:
    """TBPTT(k1, k2) over `StreamBatch`es of exactly k1 steps (see the module docstring).

    Args:
        k1: steps between updates; each batch holds k1 steps.
        k2: steps each update back-propagates through, k2 >= k1 (default k1).
        loss_fn: `loss_fn(output, target) -> (loss_sum, count)` for one piece of a batch.
        stateful: carry the state from batch to batch (a stream); False: every batch starts from zeros.

    The model is called as `model(x, state) -> (output, state)` on pieces of a batch (split where a row
    resets or where some window begins); `state=None` means zeros.
    """

    def __init__(self, k1: int, k2: int | None = None, loss_fn=None, *, stateful: bool = True) -> None:
        k2 = k1 if k2 is None else k2
        if not (isinstance(k1, int) and isinstance(k2, int) and 1 <= k1 <= k2):
            raise ValueError(f"TBPTT needs integers 1 <= k1 <= k2, got k1={k1!r}, k2={k2!r}")
        self.k1, self.k2, self.loss_fn, self.stateful = k1, k2, loss_fn, stateful
        self.reset()

    @property
    def overlap(self) -> bool:
        """Whether consecutive windows share steps (k2 > k1), so the graph outlives an update."""
        return self.stateful and self.k2 > self.k1

    def reset(self) -> None:
        """Forget the carried state and the retained window (a new pass over the stream)."""
        self._links: list[_Link] = []
        self._blocks: list[_Block] = []
        self._state: Any = None
        self._t = 0                          # steps of the current stream seen so far
        self._where: tuple | None = None     # (stream, next offset, rows) the next batch must have
        self.probe_state: Any = None         # detached state before the last block (for diagnostics)

    def drop_state(self) -> None:
        """Restart the carried state from zeros at the current place in the stream (after NaN/inf)."""
        self._links, self._blocks, self._state = [], [], None

    # ---- one update ------------------------------------------------------------------------------
    def update(self, model: nn.Module, batch: StreamBatch, *, grad_scale: float = 1.0,
               autocast: AutocastFactory = nullcontext) -> UpdateResult:
        """Run the batch's k1 steps forward, then leave dJ_t/dθ (times grad_scale) in each `p.grad`."""
        if self.loss_fn is None:
            raise TypeError("TBPTT needs a loss to train: TBPTT(k1, k2, loss_fn) with "
                            "loss_fn(output, target) -> (loss_sum, count)")
        if not self.stateful or batch.offset == 0:
            self.reset()
        self._check(batch)
        params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        values = {n: p.detach().clone() for n, p in params.items()} if self.overlap else None
        rng: dict[int, list[Tensor]] | None = {} if self.overlap else None
        t0 = self._t
        self.probe_state = S.detach(self._state)
        for link in self._links:
            link.loss = None
        with autocast():
            count = self._forward(model, batch.x, batch.y, batch.reset, params, values, rng)
        finite = S.is_finite(self._state)
        result = self._backward(list(params.values()), count, grad_scale, finite)
        if self.overlap:
            self._blocks.append(_Block(t0, batch.x, batch.reset, values, rng))
        self._where = (batch.stream, batch.offset + batch.steps, batch.x.shape[0])
        self._prune()
        return result

    def _check(self, batch: StreamBatch) -> None:
        B, T = batch.x.shape[:2]
        if batch.y is not None and tuple(batch.y.shape[:2]) != (B, T):
            raise ValueError(f"targets must have shape (B, T) = {(B, T)} like the inputs, got {tuple(batch.y.shape)}")
        if not self.stateful:
            return
        if self.k1 != T:
            raise ValueError(f"TBPTT(k1={self.k1}) updates every k1 steps, so each batch must hold exactly "
                             f"{self.k1} steps; got {T} (build the stream with steps=k1, drop_last=True)")
        if batch.offset == 0:
            return
        got = (batch.stream, batch.offset, B)
        if self._where != got:
            want = ("a batch at column 0 (the start of a stream)" if self._where is None else
                    f"stream {self._where[0]!r} from column {self._where[1]} with {self._where[2]} rows")
            raise ValueError(f"stream batches out of order: expected {want}, got stream {got[0]!r} from column "
                             f"{got[1]} with {got[2]} rows; row i of batch b must continue in row i of batch "
                             "b+1, so serve a ContiguousStream's batches in order and unshuffled")

    def _is_cut(self, p: int) -> bool:
        """Whether some update's window begins after step p (so the state there becomes a leaf)."""
        return p == 0 or (self.stateful and (p + self.k2) % self.k1 == 0)

    def _forward(self, model: nn.Module, x: Tensor, y: Tensor | None, reset: Tensor | None,
                 params: dict[str, Tensor], values: dict[str, Tensor] | None, rng: dict | None,
                 start_col: int = 0, replay: bool = False) -> int:
        """Run columns [start_col, T) of a block, extending the links; returns the number of targets.

        `rng` records the RNG state before each piece (or, when replaying, restores it), so that a replay
        that starts mid-block draws the same dropout masks as the original run."""
        T, t0 = x.shape[1], self._t
        cuts = {c for c in range(start_col, T) if self._is_cut(t0 + c)}
        resets = _reset_columns(reset, start_col)
        bounds = sorted({start_col, T, *cuts, *resets})
        if values is None:
            call = model
        else:
            snap = {n: _Alias.apply(params[n], v) for n, v in values.items()}
            call = lambda *args: functional_call(model, snap, args)  # noqa: E731
        dtype = next(iter(params.values())).dtype if params else torch.float32
        count = 0
        for a, b in pairwise(bounds):
            if a in cuts or not self._links:
                start = S.leaf(self._state)
                self._links.append(_Link(start, start, t0 + a, t0 + a))
                self._state = start
            if a in resets:
                self._state = S.reset_rows(model, self._state, ~reset[:, a])
            if rng is not None and replay:
                _set_rng_state(rng[a])
            elif rng is not None:
                rng[a] = _rng_state()
            out, state = call(x[:, a:b], self._state)
            self._state = S.to_dtype(state, dtype)
            link = self._links[-1]
            link.end, link.t_end = self._state, t0 + b
            if y is not None:
                loss_sum, n = loss_result(self.loss_fn(out, y[:, a:b]), "TBPTT's loss_fn(output, target)")
                link.loss = loss_sum if link.loss is None else link.loss + loss_sum
                count += n
        self._t = t0 + T
        return count

    def _backward(self, params: list[Tensor], count: int, grad_scale: float, finite: bool) -> UpdateResult:
        """Back-propagate J_t link by link, newest first, stopping at the leaf h_{t-k2}."""
        current = [link.loss for link in self._links if link.loss is not None]
        if count == 0 or not current:
            return UpdateResult(0.0, 0, finite)
        value = sum(float(loss.detach()) for loss in current) / count
        cut = self._t - self.k2 if self.stateful else -1
        keep_after = cut + self.k1                 # links ending later are needed by the next update
        grads: list[Tensor | None] = [None] * len(params)
        carry: list[Tensor | None] | None = None   # dJ/d(start of the newer link) = dJ/d(end of this one)
        for link in reversed(self._links):
            outs, seeds = [], []
            if link.loss is not None:
                outs.append(link.loss)
                seeds.append(torch.full_like(link.loss, grad_scale / count))
            if carry is not None:
                for e, g in zip(S.flatten(link.end), carry, strict=True):
                    if g is not None and e.requires_grad:
                        outs.append(e)
                        seeds.append(g)
            if not outs:
                break
            starts = S.flatten(link.start) if link.t_start > cut else []
            wanted = [s for s in starts if s.requires_grad]
            got = torch.autograd.grad(outs, [*params, *wanted], seeds, allow_unused=True,
                                      retain_graph=self.stateful and link.t_end > keep_after)
            for i, g in enumerate(got[:len(params)]):
                if g is not None:
                    grads[i] = g if grads[i] is None else grads[i] + g
            if not wanted:
                break
            it = iter(got[len(params):])
            carry = [next(it) if s.requires_grad else None for s in starts]
        for p, g in zip(params, grads, strict=True):
            if g is not None:
                p.grad = g if p.grad is None else p.grad + g
        return UpdateResult(value, count, finite)

    def _prune(self) -> None:
        """Drop the links and blocks no future update reaches back to."""
        if not self.stateful:
            self.reset()
            return
        keep_after = self._t - self.k2 + self.k1
        self._links = [link for link in self._links if link.t_end > keep_after]
        if not self._links:
            self._state = S.detach(self._state)
        window = self._links[0].t_start if self._links else self._t
        self._blocks = [b for b in self._blocks if b.t0 + b.x.shape[1] > window]

    def probe(self, model: nn.Module, batch: StreamBatch, *,
              autocast: AutocastFactory = nullcontext) -> tuple[Tensor, Tensor | None]:
        """Re-run the last batch from the state it started from (diagnostics; nothing is carried)."""
        with autocast():
            return probe_losses(model, batch, self.probe_state, self.loss_fn)

    # ---- checkpointing ---------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """Tensors (for safetensors) and JSON metadata that restore this runner exactly."""
        tensors: dict[str, Tensor] = {}
        carry = S.detach(self._state)
        for i, t in enumerate(S.flatten(carry)):
            tensors[f"carry.{i}"] = t
        meta: dict[str, Any] = {"kind": "tbptt", "k1": self.k1, "k2": self.k2, "stateful": self.stateful,
                                "t": self._t, "where": list(self._where) if self._where else None,
                                "carry": S.structure(carry), "blocks": []}
        if self._links and self._blocks:
            first = self._links[0]
            meta["window_t0"] = first.t_start
            meta["window"] = S.structure(first.start)
            for i, t in enumerate(S.flatten(S.detach(first.start))):
                tensors[f"window.{i}"] = t
            for j, b in enumerate(self._blocks):
                tensors[f"block{j}.x"] = b.x
                if b.reset is not None:
                    tensors[f"block{j}.reset"] = b.reset
                for n, v in b.params.items():
                    tensors[f"block{j}.param.{n}"] = v
                for col, states in b.rng.items():
                    for i, r in enumerate(states):
                        tensors[f"block{j}.rng.{col}.{i}"] = r
                meta["blocks"].append({"t0": b.t0, "reset": b.reset is not None, "params": list(b.params),
                                       "rng": {str(col): len(states) for col, states in b.rng.items()}})
        return tensors, meta

    def load_state_dict(self, model: nn.Module, tensors: dict[str, Tensor], meta: dict[str, Any], *,
                        autocast: AutocastFactory = nullcontext) -> None:
        """Restore the carried state; when k2 > k1, rebuild the retained window by replaying its blocks."""
        mine = (self.k1, self.k2, self.stateful)
        theirs = (meta.get("k1"), meta.get("k2"), meta.get("stateful"))
        if meta.get("kind") != "tbptt" or mine != theirs:
            raise CheckpointError(f"the checkpoint's TBPTT settings (k1, k2, stateful) = {theirs} differ from "
                                  f"this run's {mine}")
        self.reset()
        device = next(model.parameters()).device
        get = lambda name: tensors[name].to(device)  # noqa: E731
        carry = S.rebuild(meta["carry"], [get(f"carry.{i}") for i in range(S.size(meta["carry"]))])
        self._where = tuple(meta["where"]) if meta["where"] else None
        if meta["blocks"]:
            params = {n: p for n, p in model.named_parameters() if p.requires_grad}
            n_window = S.size(meta["window"])
            self._state = S.rebuild(meta["window"], [get(f"window.{i}") for i in range(n_window)])
            outer_rng = _rng_state()
            for j, bm in enumerate(meta["blocks"]):
                block = _Block(bm["t0"], get(f"block{j}.x"), get(f"block{j}.reset") if bm["reset"] else None,
                               {n: get(f"block{j}.param.{n}") for n in bm["params"]},
                               {int(col): [tensors[f"block{j}.rng.{col}.{i}"] for i in range(n)]
                                for col, n in bm["rng"].items()})
                self._t = block.t0
                with autocast():
                    self._forward(model, block.x, None, block.reset, params, block.params, block.rng,
                                  start_col=max(0, meta["window_t0"] - block.t0), replay=True)
                self._blocks.append(block)
            _set_rng_state(outer_rng)
            replayed = S.flatten(self._state)
            if not all(torch.equal(a.detach(), b) for a, b in zip(replayed, S.flatten(carry), strict=True)):
                warnings.warn("replaying the retained TBPTT window did not reproduce the saved state exactly "
                              "(non-deterministic kernels?); the resumed run may differ slightly",
                              RuntimeWarning, stacklevel=2)
        else:
            self._state = carry
        self._t = int(meta["t"])


def _reset_columns(reset: Tensor | None, start_col: int) -> set[int]:
    if reset is None:
        return set()
    cols = reset[:, start_col:].any(0).nonzero().flatten()
    return {int(c) + start_col for c in cols}


def _rng_state() -> list[Tensor]:
    states = [torch.get_rng_state()]
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states.extend(torch.cuda.get_rng_state_all())
    return states


def _set_rng_state(states: list[Tensor]) -> None:
    torch.set_rng_state(states[0])
    if len(states) > 1:
        torch.cuda.set_rng_state_all(states[1:])


@torch.no_grad()
def stream_loss(model: nn.Module, batches, loss_fn, *, device: torch.device | None = None,
                autocast: AutocastFactory = nullcontext) -> tuple[float, int]:
    """Evaluate a model over a stream's batches in order, carrying the state: (summed loss, targets)."""
    was_training = model.training
    model.eval()
    state, total, count = None, 0.0, 0
    try:
        for batch in batches:
            if device is not None:
                batch = batch.to(device)
            resets = _reset_columns(batch.reset, 0)
            bounds = sorted({0, batch.steps, *resets})
            for a, b in pairwise(bounds):
                if a in resets:
                    state = S.reset_rows(model, state, ~batch.reset[:, a])
                with autocast():
                    out, state = model(batch.x[:, a:b], state)
                loss_sum, n = loss_fn(out, batch.y[:, a:b])
                total += float(loss_sum)
                count += int(n)
    finally:
        model.train(was_training)
    return total, count


def probe_losses(model: nn.Module, batch: StreamBatch, state: Any, loss_fn) -> tuple[Tensor, Tensor | None]:
    """Re-run one batch from `state` with the graph: (mean loss over the batch, mean loss of its last step)."""
    resets = _reset_columns(batch.reset, 0)
    bounds = sorted({0, batch.steps, *resets})
    total, count, out = 0, 0, None
    for a, b in pairwise(bounds):
        if a in resets:
            state = S.reset_rows(model, state, ~batch.reset[:, a])
        out, state = model(batch.x[:, a:b], state)
        loss_sum, n = loss_fn(out, batch.y[:, a:b])
        total, count = total + loss_sum, count + int(n)
    last_sum, last_n = loss_fn(out[:, -1:], batch.y[:, -1:])
    last = last_sum / int(last_n) if int(last_n) else None
    return total / max(count, 1), last
