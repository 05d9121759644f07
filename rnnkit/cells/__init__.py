"""Recurrent cells written as their textbook equations: pure step functions plus parameter modules."""

from rnnkit.cells.elman import ElmanCell, ElmanStep, elman_step
from rnnkit.cells.functional import LayerNormParams
from rnnkit.cells.gru import GRUCell, GRUStep, gru_step
from rnnkit.cells.lstm import LSTMCell, LSTMStep, lstm_step

__all__ = [
    "ElmanCell", "ElmanStep", "GRUCell", "GRUStep", "LSTMCell", "LSTMStep", "LayerNormParams",
    "elman_step", "gru_step", "lstm_step",
]
