"""`rnnkit.GRU`: a stacked, optionally bidirectional GRU, drop-in for `torch.nn.GRU`."""

from __future__ import annotations

from rnnkit.layers.base import RecurrentLayer


class GRU(RecurrentLayer):
    """GRU over whole sequences; each step is `rnnkit.cells.gru.gru_step` (gate order r, z, n).

    Same arguments, parameter names and return values as `torch.nn.GRU`, plus the keyword-only
    options `recurrent_init`, `layer_norm`, `recurrent_dropout`, `engine`, `check_finite`.
    Forward: `(output, h_n) = gru(input, h_0=None, lengths=None)`.
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        device=None, dtype=None, **options,
    ) -> None:
        proj_size = options.pop("proj_size", 0)  # accepted like torch.nn.GRU, then rejected unless 0
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype, **options)
