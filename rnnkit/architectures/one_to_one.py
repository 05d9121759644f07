"""One-to-one: a feed-forward network (MLP), the "no recurrence" reference for the recurrent models.

It maps one vector to one output. Given a sequence (B, T, I) it acts on every step independently,
which makes it the memoryless baseline of an aligned tagger; as a baseline for a sequence classifier,
flatten a fixed-length sequence to (B, T*I) first. Either way a gap between it and a recurrent model
measures what memory buys on the task.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from rnnkit.architectures.config import check_choice, check_int, check_probability, resolve_config

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}


@dataclass(kw_only=True)
class OneToOneConfig:
    """A multilayer perceptron: input -> hidden layers -> output."""

    input_size: int                          # features of each input vector
    output_size: int                         # classes (logits) or regression targets
    hidden_sizes: tuple[int, ...] = (64,)    # width of each hidden layer; () gives a linear model
    activation: str = "tanh"                 # "tanh" | "relu" | "gelu", after every hidden layer
    dropout: float = 0.0                     # after every hidden activation

    def __post_init__(self) -> None:
        check_int("input_size", self.input_size)
        check_int("output_size", self.output_size)
        if not isinstance(self.hidden_sizes, (tuple, list)):
            raise ValueError(f"hidden_sizes must be a tuple of ints, got {self.hidden_sizes!r}")
        for i, h in enumerate(self.hidden_sizes):
            check_int(f"hidden_sizes[{i}]", h)
        self.hidden_sizes = tuple(self.hidden_sizes)
        check_choice("activation", self.activation, tuple(_ACTIVATIONS))
        check_probability("dropout", self.dropout, high_inclusive=False)


class OneToOne(nn.Module):
    """MLP over the last dimension: (B, I) -> (B, O), or (B, T, I) -> (B, T, O) step by step."""

    def __init__(self, config: OneToOneConfig | None = None, **fields) -> None:
        super().__init__()
        self.config = config = resolve_config(OneToOneConfig, config, fields)
        layers: list[nn.Module] = []
        width = config.input_size
        for h in config.hidden_sizes:
            layers += [nn.Linear(width, h), _ACTIVATIONS[config.activation](), nn.Dropout(config.dropout)]
            width = h
        layers.append(nn.Linear(width, config.output_size))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """x: (..., I) -> (..., O)."""
        if x.dim() == 0 or x.shape[-1] != self.config.input_size:
            raise ValueError(f"input must have input_size={self.config.input_size} features in its last "
                             f"dimension, got shape {tuple(x.shape)}")
        return self.net(x)
