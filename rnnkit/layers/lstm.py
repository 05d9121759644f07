"""`rnnkit.LSTM`: a stacked, optionally bidirectional LSTM, drop-in for `torch.nn.LSTM`."""

from __future__ import annotations

from rnnkit.layers.base import RecurrentLayer


class LSTM(RecurrentLayer):
    """LSTM over whole sequences; each step is `rnnkit.cells.lstm.lstm_step` (gate order i, f, g, o).

    Same arguments, parameter names and return values as `torch.nn.LSTM` (including `proj_size`),
    plus keyword-only options:
        forget_bias: initial total forget-gate bias b_ih[f] + b_hh[f] in every layer and direction
            (b_ih's slice gets the value, b_hh's is zeroed), e.g. 1.0 for long memories.
        recurrent_init: "uniform" (PyTorch) or "orthogonal" (each gate block of W_hh orthogonal).
        layer_norm: layer-normalised LSTM (Ba et al., 2016); see `rnnkit.cells.lstm`.
        recurrent_dropout: variational dropout on h_{t-1}, one mask per sequence.
        engine: "auto", "reference", ...; check_finite: reject NaN/inf inputs with a clear error.
    Forward: `(output, (h_n, c_n)) = lstm(input, (h_0, c_0)=None, lengths=None)`.
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
        device=None, dtype=None, **options,
    ) -> None:
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype, **options)
