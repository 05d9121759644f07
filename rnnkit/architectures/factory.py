"""Recurrent layers by cell name, and the few operations architectures need on their states.

An LSTM's state is a pair `(h, c)`, an Elman RNN's or a GRU's a single `h`; every tensor is laid out
`(num_layers * num_directions, B, ·)` as in `torch.nn`. The helpers here let a model treat both alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from rnnkit.architectures.config import CELLS, RecurrentConfig, check_choice
from rnnkit.layers import GRU, LSTM, RNN
from rnnkit.layers.base import RecurrentLayer

State = Tensor | tuple[Tensor, Tensor]

_LAYERS = {"lstm": LSTM, "gru": GRU, "elman": RNN}


def make_rnn(
    cell: str, input_size: int, hidden_size: int, num_layers: int = 1, *, dropout: float = 0.0,
    bidirectional: bool = False, **options: Any,
) -> RecurrentLayer:
    """A batch-first `rnnkit.LSTM` / `GRU` / `RNN` (cell "lstm" / "gru" / "elman").

    `dropout` acts between stacked layers, so it is only passed on when there are several (the layer
    would warn that it does nothing otherwise). `options` go to the layer (forget_bias, layer_norm, ...).
    """
    check_choice("cell", cell, CELLS)
    return _LAYERS[cell](input_size, hidden_size, num_layers, batch_first=True,
                         dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional, **options)


def rnn_from_config(config: RecurrentConfig, input_size: int, bidirectional: bool = False) -> RecurrentLayer:
    """The recurrent core a config describes, reading `input_size` features per step."""
    return make_rnn(config.cell, input_size, config.hidden_size, config.num_layers, dropout=config.dropout,
                    bidirectional=bidirectional, **config.layer_options)


def map_state(state: State, fn: Callable[[Tensor], Tensor]) -> State:
    """Apply `fn` to every tensor of a state (h, or both h and c)."""
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def detach_state(state: State) -> State:
    """Cut the graph behind a state: carry it into the next chunk without backpropagating into the last."""
    return map_state(state, Tensor.detach)


def select_rows(state: State, index: Tensor) -> State:
    """Pick batch rows of a state (dim 1 of each tensor), e.g. to follow beams or drop finished rows."""
    return map_state(state, lambda s: s.index_select(1, index))


def hidden_of(state: State) -> Tensor:
    """The hidden states h_n, (L*D, B, H), of either kind of state."""
    return state[0] if isinstance(state, tuple) else state


def last_layer_hidden(state: State, num_directions: int) -> Tensor:
    """The top layer's final hidden state, directions concatenated: (B, D*H).

    For a bidirectional layer this is [forward h at each row's last real step; backward h at step 0].
    """
    h = hidden_of(state)[-num_directions:]   # (D, B, H)
    return h.permute(1, 0, 2).reshape(h.shape[1], -1)
