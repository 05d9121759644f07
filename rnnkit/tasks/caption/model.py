"""The captioner: a CNN encoder whose features condition `rnnkit.architectures.OneToMany`.

The image features set the decoder's initial state and are fed again at every step
(`condition="both"` by default): with no attention, the per-step copy lets the decoder look at the
image again when it reaches the next word. Training is teacher-forced; `generate` decodes greedily
(beam_width=1) or with beam search, both through the architectures' shared search code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.architectures import OneToMany, OneToManyConfig
from rnnkit.architectures.decoding import Decoded
from rnnkit.tasks.vision.encoder import ConvEncoder, EncoderConfig


@dataclass
class CaptionerConfig:
    """Encoder and decoder sizes."""

    cell: str = "lstm"                  # decoder cell: lstm | gru | elman
    hidden_size: int = 128              # decoder state width
    num_layers: int = 1                 # stacked decoder layers
    embedding_dim: int = 32             # word embedding width
    condition: str = "both"             # how the features reach the decoder: init | input | both
    dropout: float = 0.1                # on the decoder's output features
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    layer_options: dict[str, Any] = field(default_factory=dict)   # e.g. {"engine": "reference"}

    def __post_init__(self) -> None:
        if isinstance(self.encoder, dict):
            self.encoder = EncoderConfig(**self.encoder)


class Captioner(nn.Module):
    """Images (B, C, H, W) -> caption token logits (teacher forcing) or generated token ids."""

    def __init__(self, image_shape: tuple[int, int, int], vocab_size: int, config: CaptionerConfig | None = None):
        super().__init__()
        self.config = config = config or CaptionerConfig()
        self.encoder = ConvEncoder(image_shape, config.encoder)
        self.decoder = OneToMany(OneToManyConfig(
            feature_size=self.encoder.feature_size, vocab_size=vocab_size, cell=config.cell,
            hidden_size=config.hidden_size, num_layers=config.num_layers, embedding_dim=config.embedding_dim,
            condition=config.condition, dropout=config.dropout,
            layer_options=config.layer_options))

    def forward(self, images: Tensor, inputs: Tensor, lengths: Tensor | None = None) -> Tensor:
        """images (B, C, H, W), inputs (B, T) = [<s>, y_1, ...] -> logits (B, T, V)."""
        return self.decoder(self.encoder(images), inputs, lengths)

    @torch.no_grad()
    def generate(self, images: Tensor, *, beam_width: int = 1, max_length: int = 20,
                 length_norm: float = 0.0) -> Decoded:
        """Token ids per image: greedy when beam_width == 1, else beam search (eval mode inside)."""
        was_training = self.training
        self.eval()
        try:
            return self.decoder.generate(self.encoder(images), max_length=max_length, beam_width=beam_width,
                                         length_norm=length_norm)
        finally:
            self.train(was_training)
