"""Parameter ownership and input checks shared by the three cell modules.

The maths lives in each cell's `*_step` function; this class only owns tensors named exactly as in
`torch.nn.RNNCell/LSTMCell/GRUCell` (weight_ih, weight_hh, bias_ih, bias_hh), so state_dicts
interchange with PyTorch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit import validation as V
from rnnkit.cells.functional import LayerNormParams
from rnnkit.cells.init import check_recurrent_init, orthogonal_recurrent_, uniform_


class CellBase(nn.Module):
    """One recurrent cell: `num_chunks` gate blocks of size H stacked in W_ih (gH, I) and W_hh (gH, H)."""

    num_chunks: int = 1
    ln_state: bool = False  # whether layer norm also normalises a cell state (LSTM)

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, *, recurrent_init: str = "uniform",
        layer_norm: bool = False, device=None, dtype=None,
    ) -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        check_recurrent_init(recurrent_init)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.recurrent_init, self.layer_norm = recurrent_init, layer_norm
        kw = {"device": device, "dtype": dtype}
        g = self.num_chunks * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(g, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(g, hidden_size, **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(g, **kw))
            self.bias_hh = nn.Parameter(torch.empty(g, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        if layer_norm:
            self.ln_ih_weight = nn.Parameter(torch.empty(g, **kw))
            self.ln_ih_bias = nn.Parameter(torch.empty(g, **kw))
            self.ln_hh_weight = nn.Parameter(torch.empty(g, **kw))
            self.ln_hh_bias = nn.Parameter(torch.empty(g, **kw))
            if self.ln_state:
                self.ln_c_weight = nn.Parameter(torch.empty(hidden_size, **kw))
                self.ln_c_bias = nn.Parameter(torch.empty(hidden_size, **kw))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's uniform init, then the options: orthogonal W_hh, unit layer-norm gains."""
        uniform_([p for n, p in self.named_parameters() if not n.startswith("ln_")], self.hidden_size)
        if self.recurrent_init == "orthogonal":
            orthogonal_recurrent_(self.weight_hh, self.num_chunks)
        with torch.no_grad():
            for n, p in self.named_parameters():
                if n.startswith("ln_"):
                    p.fill_(1.0 if n.endswith("weight") else 0.0)

    def to_torch(self) -> nn.Module:
        """The equivalent `torch.nn` cell with a copy of these weights."""
        from rnnkit.layers.convert import cell_to_torch

        return cell_to_torch(self)

    @classmethod
    def from_torch(cls, module: nn.Module, **options):
        """Build this cell from the matching `torch.nn` cell, copying its weights."""
        from rnnkit.layers.convert import from_torch

        cell = from_torch(module, **options)
        if not isinstance(cell, cls):
            raise TypeError(f"{cls.__name__}.from_torch got a {type(module).__name__}")
        return cell

    def layer_norm_params(self) -> LayerNormParams | None:
        if not self.layer_norm:
            return None
        c = (self.ln_c_weight, self.ln_c_bias) if self.ln_state else None
        return LayerNormParams((self.ln_ih_weight, self.ln_ih_bias), (self.ln_hh_weight, self.ln_hh_bias), c)

    def _prepare(self, input: Tensor, hx, n_states: int) -> tuple[Tensor, tuple[Tensor, ...], bool]:
        """Check input (B, I) or (I,) and the state(s) (B, H); default the state to zeros."""
        V.check_tensor("input", input)
        V.check_rank("input", input, (1, 2), "(batch, input_size) or (input_size,)")
        V.check_floating("input", input, self.weight_ih.dtype)
        V.check_device("input", input, self.weight_ih.device)
        if input.shape[-1] != self.input_size:
            raise ValueError(f"input must have {self.input_size} features in its last dimension "
                             f"(input_size), got shape {tuple(input.shape)}")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        B = x.shape[0]
        if hx is None:
            zeros = x.new_zeros(B, self.hidden_size)
            return x, tuple(zeros for _ in range(n_states)), unbatched
        if n_states > 1 and (not isinstance(hx, (tuple, list)) or len(hx) != n_states):
            got = type(hx).__name__
            if isinstance(hx, (tuple, list)):
                got = f"a {got} of length {len(hx)}"
            raise TypeError(f"hx must be a tuple of {n_states} tensors (h, c), got {got}")
        states = (hx,) if n_states == 1 else tuple(hx)
        out = []
        for k, s in enumerate(states):
            name = "hx" if n_states == 1 else f"hx[{k}]"
            V.check_tensor(name, s)
            V.check_floating(name, s, self.weight_ih.dtype)
            V.check_device(name, s, self.weight_ih.device)
            expected = (self.hidden_size,) if unbatched else (B, self.hidden_size)
            V.check_shape(name, s, expected, "(batch, hidden_size)" if not unbatched else "(hidden_size,)")
            out.append(s.unsqueeze(0) if unbatched else s)
        return x, tuple(out), unbatched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.recurrent_init != "uniform":
            s += f", recurrent_init={self.recurrent_init!r}"
        if self.layer_norm:
            s += ", layer_norm=True"
        return s
