"""Sequence layers: drop-in replacements for torch.nn.RNN/LSTM/GRU with lengths, streaming and recording."""

from rnnkit.layers.base import RecurrentLayer
from rnnkit.layers.convert import from_torch
from rnnkit.layers.gru import GRU
from rnnkit.layers.lstm import LSTM
from rnnkit.layers.record import Record
from rnnkit.layers.rnn import RNN

__all__ = ["GRU", "LSTM", "RNN", "Record", "RecurrentLayer", "from_torch"]
