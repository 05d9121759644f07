"""Video classifiers: a per-frame CNN, then either a recurrent layer or an order-blind mean.

    VideoClassifier    frames -> ConvEncoder per frame -> rnnkit.architectures.ManyToOne (reads the
                       frame features in order; length-aware "last" pooling) -> class logits
    MeanFrameClassifier  the baseline: the same per-frame encoder, the features averaged over the
                       real frames (order is lost), then a two-layer MLP -> class logits

Both take clips (B, T, C, H, W) and lengths (B,) and are trained the same way in the same run, so
the difference between them is what reading the frames in order buys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.architectures import ManyToOne, ManyToOneConfig
from rnnkit.tasks.vision.encoder import ConvEncoder, EncoderConfig


@dataclass
class VideoModelConfig:
    """Per-frame encoder and recurrent sizes."""

    cell: str = "lstm"               # lstm | gru | elman
    hidden_size: int = 64            # recurrent state width (and the baseline MLP's hidden width)
    num_layers: int = 1
    dropout: float = 0.0
    encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(channels=(16, 32), feature_size=64))
    layer_options: dict[str, Any] = field(default_factory=dict)   # e.g. {"engine": "reference"}

    def __post_init__(self) -> None:
        if isinstance(self.encoder, dict):
            self.encoder = EncoderConfig(**self.encoder)


def encode_frames(encoder: ConvEncoder, clips: Tensor) -> Tensor:
    """clips (B, T, C, H, W) -> per-frame features (B, T, F), every frame through the same CNN."""
    B, T = clips.shape[:2]
    return encoder(clips.flatten(0, 1)).view(B, T, -1)


class VideoClassifier(nn.Module):
    """Clips (B, T, C, H, W) -> logits (B, K): CNN per frame, recurrent layer over the frames."""

    def __init__(self, frame_shape: tuple[int, int, int], num_classes: int, config: VideoModelConfig | None = None):
        super().__init__()
        self.config = config = config or VideoModelConfig()
        self.encoder = ConvEncoder(frame_shape, config.encoder)
        self.rnn = ManyToOne(ManyToOneConfig(
            input_size=self.encoder.feature_size, output_size=num_classes, cell=config.cell,
            hidden_size=config.hidden_size, num_layers=config.num_layers, dropout=config.dropout, pooling="last",
            layer_options=config.layer_options))

    def forward(self, clips: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.rnn(encode_frames(self.encoder, clips), lengths)      # (B, K)


class MeanFrameClassifier(nn.Module):
    """The order-blind baseline: mean of per-frame CNN features over the real frames, then an MLP."""

    def __init__(self, frame_shape: tuple[int, int, int], num_classes: int, config: VideoModelConfig | None = None):
        super().__init__()
        self.config = config = config or VideoModelConfig()
        self.encoder = ConvEncoder(frame_shape, config.encoder)
        F, H = self.encoder.feature_size, config.hidden_size
        self.head = nn.Sequential(nn.Linear(F, H), nn.ReLU(), nn.Linear(H, num_classes))

    def forward(self, clips: Tensor, lengths: Tensor | None = None) -> Tensor:
        feats = encode_frames(self.encoder, clips)                        # (B, T, F)
        if lengths is None:
            pooled = feats.mean(1)
        else:
            mask = (torch.arange(feats.shape[1], device=feats.device) < lengths.unsqueeze(1)).unsqueeze(-1)
            pooled = (feats * mask).sum(1) / lengths.clamp(min=1).unsqueeze(1).to(feats.dtype)
        return self.head(pooled)                                          # (B, K)
