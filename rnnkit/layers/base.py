"""`RecurrentLayer`: the sequence-layer plumbing shared by `rnnkit.RNN`, `rnnkit.LSTM` and `rnnkit.GRU`.

It mirrors `torch.nn.RNNBase`: the same constructor arguments, parameter names
(`weight_ih_l{k}{_reverse}`, ...), shapes, forward signature and return values, so it is a drop-in
replacement and state_dicts interchange. On top of that it takes `lengths=`, runs each direction
length-aware, offers `step()` for streaming, optional per-step recording, and pluggable engines.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnkit import validation as V
from rnnkit.cells.functional import LayerNormParams
from rnnkit.cells.init import check_recurrent_init, forget_bias_, orthogonal_recurrent_, uniform_
from rnnkit.engines import amp, resolve_engine
from rnnkit.engines.spec import DirectionWeights
from rnnkit.layers import lengths as L
from rnnkit.layers.record import Record

_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


@dataclass(frozen=True)
class _Inputs:
    """A validated forward call, in time-major batched form."""

    x: Tensor                     # (T, B, I)
    states: tuple[Tensor, ...]    # each (L*D, B, ·)
    lengths: Tensor | None        # (B,) on x.device, None when every row is full
    unbatched: bool


class RecurrentLayer(nn.Module):
    """Stacked, optionally bidirectional recurrent layer over a whole sequence (see the subclasses)."""

    def __init__(
        self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
        device=None, dtype=None, *, forget_bias: float | None = None, recurrent_init: str = "uniform",
        layer_norm: bool = False, recurrent_dropout: float = 0.0, engine: str = "auto",
        check_finite: bool = False,
    ) -> None:
        super().__init__()
        _check_config(mode, input_size, hidden_size, num_layers, dropout, proj_size, recurrent_dropout, bias,
                      forget_bias)
        check_recurrent_init(recurrent_init)
        resolve_engine(engine)  # fail early on an unknown name
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout={dropout} acts between layers, so with num_layers=1 it does nothing",
                          UserWarning, stacklevel=3)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        self.forget_bias, self.recurrent_init, self.layer_norm = forget_bias, recurrent_init, layer_norm
        self.recurrent_dropout, self.engine, self.check_finite = float(recurrent_dropout), engine, check_finite
        self._kept_masks: dict[int, Tensor] | None = None   # recurrent-dropout masks kept by recurrent_dropout_scope()
        self._register_weights(device, dtype)
        self.reset_parameters()

    # ---- parameters -------------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Features per direction in the output: proj_size if set, else hidden_size."""
        return self.proj_size or self.hidden_size

    def _register_weights(self, device, dtype) -> None:
        kw = {"device": device, "dtype": dtype}
        g, H, P = _GATES[self.mode] * self.hidden_size, self.hidden_size, self.output_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(self.num_layers):
            for suffix in self._suffixes(layer):
                fan_in = self.input_size if layer == 0 else P * self.num_directions
                shapes = {"weight_ih": (g, fan_in), "weight_hh": (g, P)}
                if self.bias:
                    shapes |= {"bias_ih": (g,), "bias_hh": (g,)}
                if self.proj_size:
                    shapes["weight_hr"] = (P, H)
                names = []
                for base, shape in shapes.items():
                    name = f"{base}{suffix}"
                    self.register_parameter(name, nn.Parameter(torch.empty(shape, **kw)))
                    names.append(name)
                if self.layer_norm:
                    ln = {"ln_ih_weight": g, "ln_ih_bias": g, "ln_hh_weight": g, "ln_hh_bias": g}
                    if self.mode == "lstm":
                        ln |= {"ln_c_weight": H, "ln_c_bias": H}
                    for base, n in ln.items():
                        self.register_parameter(f"{base}{suffix}", nn.Parameter(torch.empty(n, **kw)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}{'_reverse' if d else ''}" for d in range(self.num_directions)]

    def reset_parameters(self) -> None:
        """PyTorch's uniform init, then the options: orthogonal W_hh, forget-gate bias, unit LN gains."""
        uniform_([getattr(self, n) for n in self._flat_weights_names], self.hidden_size)
        for layer in range(self.num_layers):
            for suffix in self._suffixes(layer):
                if self.recurrent_init == "orthogonal":
                    orthogonal_recurrent_(getattr(self, f"weight_hh{suffix}"), _GATES[self.mode])
                if self.forget_bias is not None:
                    forget_bias_(getattr(self, f"bias_ih{suffix}"), getattr(self, f"bias_hh{suffix}"),
                                 self.hidden_size, self.forget_bias)
        with torch.no_grad():
            for n, p in self.named_parameters():
                if n.startswith("ln_"):
                    p.fill_(1.0 if "_weight" in n else 0.0)

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """Per (layer, direction) lists of the weights, as `torch.nn.RNNBase.all_weights`."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    @property
    def _flat_weights(self) -> list[nn.Parameter]:
        """Every weight in `_flat_weights_names` order, as `torch.nn.RNNBase._flat_weights` (which code
        written for torch.nn reads, e.g. to hand the weights to `torch._VF` itself)."""
        return [getattr(self, n) for n in self._flat_weights_names]

    @classmethod
    def from_torch(cls, module: nn.RNNBase, **options):
        """Build this layer from a `torch.nn` RNN/LSTM/GRU with the same configuration and weights.

        `options` set rnnkit-only choices such as `engine` or `check_finite`.
        """
        from rnnkit.layers.convert import layer_from_torch

        return layer_from_torch(cls, module, **options)

    def to_torch(self) -> nn.RNNBase:
        """The equivalent `torch.nn` module with a copy of these weights."""
        from rnnkit.layers.convert import layer_to_torch

        return layer_to_torch(self)

    def flatten_parameters(self) -> None:
        """No-op, kept for drop-in compatibility (cuDNN weight flattening does not apply)."""

    def direction_weights(self, layer: int, direction: int) -> DirectionWeights:
        """The parameters of one (layer, direction), in the form engines take."""
        s = self._suffixes(layer)[direction]
        get = lambda base: getattr(self, f"{base}{s}", None)  # noqa: E731
        ln = None
        if self.layer_norm:
            c = (get("ln_c_weight"), get("ln_c_bias")) if self.mode == "lstm" else None
            ln = LayerNormParams((get("ln_ih_weight"), get("ln_ih_bias")),
                                 (get("ln_hh_weight"), get("ln_hh_bias")), c)
        return DirectionWeights(get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"),
                                get("weight_hr"), ln)

    # ---- forward ----------------------------------------------------------------------------
    def forward(
        self, input: Tensor | PackedSequence, hx: Tensor | tuple[Tensor, Tensor] | None = None,
        lengths: Tensor | list[int] | None = None, *, return_record: bool = False,
    ):
        """Run the whole sequence. Returns `(output, h_n)` (RNN, GRU) or `(output, (h_n, c_n))` (LSTM).

        Args:
            input: (T, B, I), or (B, T, I) with batch_first, or (T, I) unbatched, or a PackedSequence.
            hx: initial state(s), each (num_layers * num_directions, B, H) (h_0 has P = proj_size
                features for a projected LSTM); zeros when None.
            lengths: (B,) real length of each row, any order and device; steps past a row's length are
                padding: they output zeros and leave the state alone, and backward directions start at
                each row's last real step.
            return_record: also return a `Record` of every step's states and gate activations.
        """
        pack_info = None
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError("pass lengths or a PackedSequence, not both (the PackedSequence has them)")
            input, lengths, pack_info = L.unpack(input, self.batch_first)
        inp = self._check_inputs(input, hx, lengths)
        output, states, record = self._run(inp.x, inp.states, inp.lengths, return_record)
        if self.batch_first and not inp.unbatched:
            output = output.transpose(0, 1)
        if inp.unbatched:
            output, states = output.squeeze(1), tuple(s.squeeze(1) for s in states)
            if record is not None:
                record = record.map(lambda v: v.squeeze(0 if self.batch_first else 1))
        if pack_info is not None:
            output = L.repack(output, lengths, pack_info, self.batch_first)
        state = states if self.mode == "lstm" else states[0]
        if return_record:
            return output, state, record
        return output, state

    def step(self, input: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None = None):
        """Advance one time step for streaming inference: `(y_t, state)` for input (B, I) or (I,).

        `state` has the same form as `hx` and the forward's final state; chaining `step` over a
        sequence gives the same numbers as one forward call (in eval mode, where dropout is off).
        """
        if self.bidirectional:
            raise ValueError("step() needs a unidirectional layer: a bidirectional one must see the "
                             "whole sequence before its backward direction can start")
        if self.training and self.recurrent_dropout > 0 and getattr(self, "_kept_masks", None) is None:
            raise ValueError("step() in training with recurrent_dropout needs one mask per sequence across calls: "
                             "call it inside `with layer.recurrent_dropout_scope():` (one block per sequence), "
                             "or call .eval() first")
        V.check_tensor("input", input)
        V.check_rank("input", input, (1, 2), "(batch, input_size) or (input_size,)")
        seq = input.unsqueeze(0)  # one time step: (1, B, I) or (1, I)
        output, state = self.forward(seq.transpose(0, 1) if self.batch_first and input.dim() == 2 else seq, hx)
        y = output.squeeze(1) if self.batch_first and input.dim() == 2 else output.squeeze(0)
        return y, state

    @contextmanager
    def recurrent_dropout_scope(self) -> Iterator[None]:
        """Keep the recurrent-dropout masks fixed for the calls inside this block: one mask per sequence,
        as one forward() call over the whole sequence uses, for a sequence fed step by step (a decoder
        with scheduled sampling, streaming training). Masks are drawn on the first call in the block."""
        outer, self._kept_masks = getattr(self, "_kept_masks", None), {}
        try:
            yield
        finally:
            self._kept_masks = outer

    def _run(self, x: Tensor, states: tuple[Tensor, ...], lengths: Tensor | None, record: bool):
        """Run every layer and direction; x: (T, B, I) -> output (T, B, D*P), states (L*D, B, ·)."""
        T = x.shape[0]
        mask = L.step_mask(lengths, T) if lengths is not None else None
        if mask is not None:  # padding may hold anything (NaN too): keep it out of every step and gradient
            x = x.masked_fill(~mask.unsqueeze(-1), 0.0)
        rev = L.reverse_index(lengths, T) if lengths is not None else None
        run = resolve_engine("reference" if record else self.engine, self)
        stack = getattr(run, "run_stack", None)  # an engine may take every layer and direction in one call
        if stack is not None and not record:
            whole = stack(self, x, states, lengths)
            if whole is not None:
                return (*whole, None)
        finals: list[list[Tensor]] = [[] for _ in states]
        records = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                x_d = L.reverse_time(x, rev) if d else x
                res = run(self.mode, x_d, tuple(s[k] for s in states), self.direction_weights(layer, d),
                          mask, self._recurrent_dropout_mask(x, states[0].shape[-1], k), record)
                outs.append(L.reverse_time(res.output, rev) if d else res.output)
                for acc, s in zip(finals, res.state, strict=True):
                    acc.append(s)
                if record:
                    rec = res.record
                    records.append({n: L.reverse_time(v, rev) for n, v in rec.items()} if d else rec)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
            if self.dropout and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
        rec = Record.from_list(records, self.num_layers, self.num_directions, self.batch_first) if record else None
        return x, tuple(torch.stack(f) for f in finals), rec

    def _recurrent_dropout_mask(self, x: Tensor, features: int, k: int) -> Tensor | None:
        """One dropout mask per sequence on h_{t-1} (Gal & Ghahramani, 2016), scaled by 1/(1-p), for
        (layer, direction) k: a fresh one per call, or the one kept by `recurrent_dropout_scope`."""
        p = self.recurrent_dropout
        if not (self.training and p > 0):
            return None
        kept = getattr(self, "_kept_masks", None)   # absent on a layer pickled by an older rnnkit
        if kept is not None and k in kept:
            if kept[k].shape[0] != x.shape[1]:
                raise ValueError(f"recurrent_dropout_scope() keeps masks for batch size {kept[k].shape[0]}, got a "
                                 f"batch of {x.shape[1]}: use one block per batch of sequences")
            return kept[k]
        keep = torch.full((x.shape[1], features), 1 - p, device=x.device, dtype=x.dtype)
        mask = torch.bernoulli(keep) / (1 - p)
        if kept is not None:
            kept[k] = mask
        return mask

    # ---- validation -------------------------------------------------------------------------
    def _check_inputs(self, input, hx, lengths) -> _Inputs:
        V.check_tensor("input", input)
        layout = "(batch, seq, input_size)" if self.batch_first else "(seq, batch, input_size)"
        V.check_rank("input", input, (2, 3), f"{layout}, or (seq, input_size) unbatched")
        w = self.weight_ih_l0
        V.check_floating("input", input, w.dtype)
        V.check_device("input", input, w.device)
        if input.shape[-1] != self.input_size:
            raise ValueError(f"input must have input_size={self.input_size} features in its last dimension, "
                             f"got shape {tuple(input.shape)}")
        unbatched = input.dim() == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        T, B = x.shape[0], x.shape[1]
        if self.check_finite:
            V.check_finite("input", input)
        lens = None
        if lengths is not None:
            if unbatched and (isinstance(lengths, int) or (isinstance(lengths, Tensor) and lengths.dim() == 0)):
                lengths = lengths.reshape(1) if isinstance(lengths, Tensor) else [lengths]  # the one row's length
            lens = L.as_lengths(lengths, B, T, x.device)
            if B and bool((lens == T).all()):
                lens = None
        states = self._check_states(hx, B, unbatched, x)
        return _Inputs(x, states, lens, unbatched)

    def _check_states(self, hx, B: int, unbatched: bool, x: Tensor) -> tuple[Tensor, ...]:
        LD = self.num_layers * self.num_directions
        sizes = (self.output_size, self.hidden_size) if self.mode == "lstm" else (self.output_size,)
        names = ("h_0", "c_0") if self.mode == "lstm" else ("h_0",)
        if hx is None:
            return tuple(x.new_zeros(LD, B, n) for n in sizes)
        if self.mode == "lstm":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                got = type(hx).__name__
                if isinstance(hx, (tuple, list)):
                    got = f"a {got} of length {len(hx)}"
                raise TypeError(f"hx for an LSTM must be a tuple (h_0, c_0), got {got}")
            given = tuple(hx)
        else:
            given = (hx,)
        out = []
        low = amp.autocast_dtype(x.device.type)
        for name, n, s in zip(names, sizes, given, strict=True):
            V.check_tensor(name, s)
            if low is not None and isinstance(s, Tensor) and s.dtype == low and amp.lowers(x, low):
                s = s.to(x.dtype)   # a state an engine returned under autocast, handed back
            V.check_floating(name, s, x.dtype)
            V.check_device(name, s, x.device)
            if unbatched:
                V.check_shape(name, s, (LD, n), "(num_layers * num_directions, hidden) for unbatched input")
                s = s.unsqueeze(1)
            else:
                V.check_shape(name, s, (LD, B, n), "(num_layers * num_directions, batch, hidden)")
            if self.check_finite:
                V.check_finite(name, s)
            out.append(s)
        return tuple(out)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0,
                    "bidirectional": False, "proj_size": 0, "forget_bias": None,
                    "recurrent_init": "uniform", "layer_norm": False, "recurrent_dropout": 0.0,
                    "engine": "auto"}
        for k, default in defaults.items():
            v = getattr(self, k)
            if v != default:
                s += f", {k}={v!r}"
        return s


def _check_config(mode, input_size, hidden_size, num_layers, dropout, proj_size, recurrent_dropout, bias,
                  forget_bias) -> None:
    for name, v, low in (("input_size", input_size, 1), ("hidden_size", hidden_size, 1),
                         ("num_layers", num_layers, 1), ("proj_size", proj_size, 0)):
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
    for name, p in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"{name} must be a number in [0, 1], got {p!r}")
    if recurrent_dropout == 1:
        raise ValueError("recurrent_dropout=1 would drop every recurrent input; use a value below 1")
    if proj_size and mode != "lstm":
        raise ValueError(f"proj_size is only supported by LSTM, got proj_size={proj_size} for {mode!r}")
    if proj_size >= hidden_size:
        raise ValueError(f"proj_size must be smaller than hidden_size={hidden_size}, got {proj_size}")
    if forget_bias is not None:
        if mode != "lstm":
            raise ValueError("forget_bias only applies to LSTM")
        if not bias:
            raise ValueError("forget_bias needs bias=True: without biases there is nothing to set")
