"""The vendor engine: PyTorch's own RNN kernels, where they compute exactly rnnkit's function.

`torch.nn.LSTM/GRU/RNN` call `torch._VF.lstm/gru/rnn_tanh/rnn_relu`, which run oneDNN's fused LSTM on
CPU (`mkldnn_rnn_layer`; GRU and Elman get ATen's per-step loop) and cuDNN on GPU. Those kernels use
the same equations, gate order and two biases as rnnkit's cells (PyTorch's GRU formulation included),
and `proj_size`, so for one direction of one layer they are a drop-in for the fused engine when the
configuration has

- no layer norm and no recurrent dropout (neither exists in the vendor kernels), and
- no zero-length row (a packed sequence cannot hold one).

Lengths go through a packed sequence, which gives exactly rnnkit's padding semantics: padded steps
output zeros and the final state is taken at each row's last real step.

`run_stack` hands a whole layer stack (every layer and direction) to one `torch._VF` call, as
`torch.nn.LSTM` does: oneDNN and cuDNN then pipeline the layers and directions, which engines called
per (layer, direction) cannot. It also requires that no dropout is active between layers in training
(the kernels would draw other random masks than rnnkit's own dropout).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.engines.spec import DirectionResult, DirectionWeights

_KERNELS = {"lstm": torch._VF.lstm, "gru": torch._VF.gru, "rnn_tanh": torch._VF.rnn_tanh,
            "rnn_relu": torch._VF.rnn_relu}


def unsupported(weights: DirectionWeights, mask: Tensor | None, h_dropout: Tensor | None,
                record: bool) -> str | None:
    """Why the vendor kernels cannot run this configuration, or None when they can."""
    if weights.ln is not None:
        return "layer_norm"
    if h_dropout is not None:
        return "recurrent dropout"
    if record:
        return "per-step recording"
    if mask is not None and mask.shape[0] > 0 and not bool(mask[0].all()):
        return "a zero-length row"
    return None


def run_stack(layer, x: Tensor, states: tuple[Tensor, ...], lengths: Tensor | None):
    """All layers and directions of a `RecurrentLayer` in one call: (output (T, B, D*P), final states), or
    None where the vendor kernels would not compute exactly rnnkit's function."""
    dropout_active = layer.training and (layer.recurrent_dropout or (layer.dropout and layer.num_layers > 1))
    if layer.layer_norm or dropout_active:
        return None
    if lengths is not None and bool((lengths == 0).any()):
        return None
    flat = [getattr(layer, name) for name in layer._flat_weights_names]
    hx = states if layer.mode == "lstm" else states[0]
    args = (flat, layer.bias, layer.num_layers, 0.0, torch.is_grad_enabled(), layer.bidirectional)
    kernel = _KERNELS[layer.mode]
    if lengths is None:
        out, *final = kernel(x, hx, *args, False)
        return out, tuple(final)
    packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    hx = [h.index_select(1, order) for h in states]
    out, *final = kernel(packed.data, packed.batch_sizes, hx if layer.mode == "lstm" else hx[0], *args)
    padded, _ = pad_packed_sequence(PackedSequence(out, packed.batch_sizes, order, unorder), total_length=x.shape[0])
    return padded, tuple(f.index_select(1, unorder) for f in final)


def run_direction(
    mode: str, x: Tensor, state: tuple[Tensor, ...], weights: DirectionWeights,
    mask: Tensor | None = None, h_dropout: Tensor | None = None, record: bool = False,
) -> DirectionResult:
    """Run one direction of one layer with `torch._VF`; see `rnnkit.engines.spec.Engine`."""
    why = unsupported(weights, mask, h_dropout, record)
    if why is not None:
        raise ValueError(f"the vendor engine cannot run {why}; use engine='fused' or 'auto'")
    w = weights
    flat = [w.w_ih, w.w_hh] + ([w.b_ih, w.b_hh] if w.b_ih is not None else [])
    flat += [w.w_hr] if w.w_hr is not None else []
    has_biases = w.b_ih is not None
    hx = [s.unsqueeze(0) for s in state]
    hx_arg = hx if mode == "lstm" else hx[0]
    train = torch.is_grad_enabled()
    kernel = _KERNELS[mode]
    if mask is None or bool(mask.all()):
        out, *final = kernel(x, hx_arg, flat, has_biases, 1, 0.0, train, False, False)
        return DirectionResult(out, tuple(f.squeeze(0) for f in final), None)
    lengths = mask.sum(0).cpu()
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    hx_sorted = [h.index_select(1, order) for h in hx]
    out, *final = kernel(packed.data, packed.batch_sizes, hx_sorted if mode == "lstm" else hx_sorted[0], flat,
                         has_biases, 1, 0.0, train, False)
    padded, _ = pad_packed_sequence(PackedSequence(out, packed.batch_sizes, order, unorder), total_length=x.shape[0])
    return DirectionResult(padded, tuple(f.index_select(1, unorder).squeeze(0) for f in final), None)
