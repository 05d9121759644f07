"""rnnkit: recurrent networks from their equations, as fast and as checked as PyTorch's own."""

from rnnkit.cells import ElmanCell, GRUCell, LSTMCell, elman_step, gru_step, lstm_step
from rnnkit.layers import GRU, LSTM, RNN, Record, from_torch

__version__ = "0.1.0"

__all__ = [
    "GRU", "LSTM", "RNN", "ElmanCell", "GRUCell", "LSTMCell", "Record", "__version__",
    "elman_step", "from_torch", "gru_step", "lstm_step",
]
