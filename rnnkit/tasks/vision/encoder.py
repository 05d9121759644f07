"""A small convolutional image encoder: (B, C, H, W) -> (B, F) features for a recurrent decoder.

Conv-BatchNorm-ReLU-maxpool blocks halve the resolution each time (batch norm made the captioner
reach a given validation BLEU in about half the updates on the digits data); the final map is flattened
(not globally pooled) so the features keep *where* things are, which a caption such as "three
hundred and twelve" (digit order) or a video frame (the digit's position) depends on. The video task
uses the same encoder per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from rnnkit.training.errors import ConfigError


def parse_channels(text: str) -> tuple[int, ...]:
    """The tasks' --conv option, e.g. "16,32" -> (16, 32): one conv block per entry."""
    try:
        channels = tuple(int(c) for c in text.split(","))
    except ValueError:
        channels = ()
    if not channels or min(channels) < 1:
        raise ConfigError(f"conv must be comma-separated channel counts >= 1, e.g. 16,32; got {text!r}")
    return channels


@dataclass
class EncoderConfig:
    """Conv widths per block, and the size of the output feature vector."""

    channels: tuple[int, ...] = (32, 64)   # output channels of each block (3x3 conv, batch norm, ReLU, 2x2 max pool)
    feature_size: int = 128                # width of the final linear layer (the decoder's conditioning vector)
    dropout: float = 0.0                   # dropout on the flattened map
    batch_norm: bool = True                # batch norm after each conv

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        if not self.channels or any(not isinstance(c, int) or c < 1 for c in self.channels):
            raise ValueError(f"channels must be a non-empty list of ints >= 1, got {self.channels!r}")
        if not isinstance(self.feature_size, int) or self.feature_size < 1:
            raise ValueError(f"feature_size must be an int >= 1, got {self.feature_size!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")


class ConvEncoder(nn.Module):
    """Images (B, C, H, W) -> features (B, F)."""

    def __init__(self, image_shape: tuple[int, int, int], config: EncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or EncoderConfig()
        C, H, W = image_shape
        if min(H, W) < 2 ** len(config.channels):
            raise ValueError(f"images of {H}x{W} pixels are too small for {len(config.channels)} pooling blocks "
                             f"(each halves the size); use fewer conv blocks or larger images")
        blocks, c_in = [], C
        for c_out in config.channels:
            norm = [nn.BatchNorm2d(c_out)] if config.batch_norm else []
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1), *norm, nn.ReLU(), nn.MaxPool2d(2)]
            c_in, H, W = c_out, H // 2, W // 2
        self.conv = nn.Sequential(*blocks)
        self.drop = nn.Dropout(config.dropout)
        self.proj = nn.Linear(c_in * H * W, config.feature_size)
        self.feature_size = config.feature_size

    def forward(self, images: Tensor) -> Tensor:
        z = self.conv(images).flatten(1)                 # (B, C' * H' * W')
        return self.proj(self.drop(z)).relu()            # (B, F)
