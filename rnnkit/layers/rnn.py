"""`rnnkit.RNN`: a stacked, optionally bidirectional Elman network, drop-in for `torch.nn.RNN`."""

from __future__ import annotations

from rnnkit.layers.base import RecurrentLayer


class RNN(RecurrentLayer):
    """Elman RNN over whole sequences: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) per layer.

    Same arguments, parameter names and return values as `torch.nn.RNN`, plus the keyword-only
    options of `RecurrentLayer`: `recurrent_init`, `recurrent_dropout`, `engine`, `check_finite`.
    Forward: `(output, h_n) = rnn(input, h_0=None, lengths=None)`.
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
        bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        device=None, dtype=None, **options,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        if options.get("layer_norm"):
            raise ValueError("layer_norm is available for LSTM and GRU, not for the Elman RNN")
        self.nonlinearity = nonlinearity
        proj_size = options.pop("proj_size", 0)  # accepted like torch.nn.RNN, then rejected unless 0
        super().__init__(f"rnn_{nonlinearity}", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype, **options)
