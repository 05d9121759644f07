"""video: clip classification, many-to-one over frames - a per-frame CNN feeds a recurrent layer.

Data (`--data`):
    moving digits (default)  real handwritten digits circling clockwise or counterclockwise (`--motion
                             rotation`), or moving left/right/up/down (`--motion direction`); the label
                             is in the order of the frames (see `moving_digits`)
    FILE.csv                 your clips: `file,label[,split]` naming .npy arrays (see `userdata`)

Model: `ConvEncoder` on every frame -> `rnnkit.architectures.ManyToOne` over the frame features
(length-aware, "last" pooling) -> class logits; full BPTT over each clip.
Baselines in the same run: the same per-frame CNN with the features averaged over the frames (an
order-blind model, trained here with the same settings), and the majority class. Metrics: accuracy,
macro-F1; the report adds the confusion matrix and a plot of test clips with their predictions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.tasks.base import TaskConfig, TaskData, model_device
from rnnkit.tasks.video.batches import ClipBatch, ClipBatches, clip_lengths
from rnnkit.tasks.video.data import ClipSet, VideoData
from rnnkit.tasks.video.metrics import classification_metrics, confusion_matrix
from rnnkit.tasks.video.model import MeanFrameClassifier, VideoClassifier, VideoModelConfig
from rnnkit.tasks.video.moving_digits import MOTIONS, MovingDigitsConfig, load_moving_digits
from rnnkit.tasks.video.plot import plot_clips, plot_confusion
from rnnkit.tasks.video.userdata import load_clip, load_clip_csv, stack_clips
from rnnkit.tasks.vision.encoder import EncoderConfig, parse_channels
from rnnkit.training.bptt import FullBPTT
from rnnkit.training.config import TrainConfig, option
from rnnkit.training.errors import ConfigError, DataError
from rnnkit.training.trainer import Trainer

EVAL_BATCH = 256


@dataclass
class VideoConfig(TaskConfig):
    hidden: int = option(64, "hidden units per recurrent layer", low=1)
    data: str | None = option(None, "a CSV file,label[,split] of .npy clips (default: moving handwritten digits)",
                              metavar="PATH")
    motion: str = option("rotation", "moving digits: rotation (clockwise vs counterclockwise: only the frame "
                         "order tells) or direction (left/right/up/down)", choices=tuple(MOTIONS))
    frames: int = option(10, "moving digits: frames per clip", low=3)
    size: int = option(20, "moving digits: canvas pixels (square)", low=16)
    train_size: int = option(3000, "moving digits: training clips", low=1)
    valid_size: int = option(500, "moving digits: validation clips", low=1)
    test_size: int = option(1000, "moving digits: test clips", low=1)
    features: int = option(64, "per-frame feature size", low=1)
    conv: str = option("16,32", "output channels of the frame encoder's conv blocks, comma-separated",
                       metavar="C,C")
    examples: int = option(8, "test clips in the plot of predictions", low=0)
    data_seed: int = option(0, "seed of the data: clips and splits", low=0)

    def validate(self) -> None:
        if self.data is not None:
            self.data = str(Path(self.data).expanduser().resolve())
        self.conv_channels()

    def conv_channels(self) -> tuple[int, ...]:
        return parse_channels(self.conv)


@dataclass
class VideoTaskData(TaskData):
    data: VideoData | None = None
    train_config: TrainConfig | None = None   # the baseline is trained with the same settings
    model_config: VideoModelConfig | None = None
    examples: int = 8


def clip_loss(model: nn.Module, batch: ClipBatch):
    """Summed cross-entropy of a batch of clips, and the number of clips."""
    logits = model(batch.clips, batch.lengths)                       # (B, K)
    return F.cross_entropy(logits, batch.labels, reduction="sum"), batch.labels.shape[0]


@torch.no_grad()
def predict_proba(model: nn.Module, data: ClipSet) -> np.ndarray:
    """Class probabilities (N, K) of every clip of `data`."""
    was_training = model.training
    model.eval()
    device, out = model_device(model), []
    for s in range(0, len(data), EVAL_BATCH):
        rows = slice(s, s + EVAL_BATCH)
        lengths = clip_lengths(data, rows)
        x = torch.from_numpy(data.clips[rows]).to(device)
        out.append(model(x, None if lengths is None else lengths.to(device)).softmax(-1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out)


class Video:
    """The `video` task (see the module docstring)."""

    name: ClassVar[str] = "video"
    description: ClassVar[str] = ("video classification, many-to-one over frames: a per-frame CNN feeds an "
                                  "LSTM/GRU (default: handwritten digits circling one way or the other)")
    primary: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    config_class: ClassVar[type[TaskConfig]] = VideoConfig

    def __init__(self) -> None:
        self._baseline: tuple[int, nn.Module] | None = None   # (id of the data, trained mean-frame model)

    def train_defaults(self) -> dict[str, Any]:
        return {"bptt": "full", "batch_size": 64, "epochs": 8, "lr": 3e-3, "schedule": "cosine",
                "final_lr_ratio": 0.05, "eval_every": 0, "checkpoint_every": 500}

    def quick(self) -> dict[str, dict[str, Any]]:
        return {"task": {"train_size": 1200, "valid_size": 200, "test_size": 400, "examples": 6},
                "train": {"epochs": 4, "lr": 5e-3}}

    # ---- data ---------------------------------------------------------------------------------------
    def build_data(self, cfg: VideoConfig, train: TrainConfig, meta: dict[str, Any] | None = None) -> TaskData:
        if cfg.data:
            # models trained before stratified splits keep their shuffled split (meta without "split")
            stratify = meta is None or meta.get("split") == "stratified"
            data = load_clip_csv(cfg.data, cfg.data_seed, classes=meta["classes"] if meta else None,
                                 stratify=stratify)
        else:
            data = load_moving_digits(MovingDigitsConfig(
                motion=cfg.motion, frames=cfg.frames, size=cfg.size, train_size=cfg.train_size,
                valid_size=cfg.valid_size, test_size=cfg.test_size, seed=cfg.data_seed))
        if meta is not None and list(data.train.frame_shape) != list(meta["frame_shape"]):
            raise DataError(f"{cfg.data or 'moving digits'}: frames are {list(data.train.frame_shape)} (C, H, W) but "
                            f"the model was trained on {meta['frame_shape']}")
        meta = meta or {"classes": data.classes, "frame_shape": list(data.train.frame_shape),
                        "source": cfg.data or f"moving digits ({cfg.motion})", "split": "stratified"}
        counts = ", ".join(f"{len(data.split(s))} {s}" for s in ("train", "valid", "test"))
        summary = f"{data.description}; {counts} clips, classes {', '.join(data.classes)}. Credits: " + \
                  " | ".join(data.credits)
        return VideoTaskData(ClipBatches(data.train, train.batch_size, train.seed), meta,
                             {"valid": data.valid, "test": data.test}, summary, data, train,
                             self.model_config(cfg), cfg.examples)

    # ---- model and training -------------------------------------------------------------------------
    def model_config(self, cfg: VideoConfig) -> VideoModelConfig:
        return VideoModelConfig(cell=cfg.cell, hidden_size=cfg.hidden, num_layers=cfg.layers, dropout=cfg.dropout,
                                encoder=EncoderConfig(channels=cfg.conv_channels(), feature_size=cfg.features),
                                layer_options={} if cfg.engine == "auto" else {"engine": cfg.engine})

    def build_model(self, cfg: VideoConfig, meta: dict[str, Any]) -> nn.Module:
        try:
            return VideoClassifier(tuple(meta["frame_shape"]), len(meta["classes"]), self.model_config(cfg))
        except ValueError as e:                  # e.g. more pooling blocks than the frames allow
            raise ConfigError(str(e)) from None

    def stepper(self, cfg: VideoConfig, train: TrainConfig) -> FullBPTT:
        return FullBPTT(clip_loss)

    # ---- metrics ------------------------------------------------------------------------------------
    def evaluate(self, model: nn.Module, data: VideoTaskData, split: str) -> dict[str, float]:
        s: ClipSet = data.splits[split]
        return classification_metrics(s.labels, predict_proba(model, s).argmax(1), len(data.meta["classes"]))

    def mean_frame_baseline(self, data: VideoTaskData) -> nn.Module:
        """The order-blind baseline, trained once per data with the run's settings (no checkpoints)."""
        if self._baseline is None or self._baseline[0] != id(data):
            cfg = data.train_config
            quiet = dataclasses.replace(cfg, progress=False, tensorboard=False, plots=False, patience=None)
            with torch.random.fork_rng():
                torch.manual_seed(cfg.seed + 1)
                model = MeanFrameClassifier(tuple(data.meta["frame_shape"]), len(data.meta["classes"]),
                                            data.model_config)
                Trainer(model, quiet, data.train, FullBPTT(clip_loss), distributed=False).fit()  # rank 0 alone
            self._baseline = (id(data), model)
        return self._baseline[1]

    def baselines(self, data: VideoTaskData, split: str) -> dict[str, dict[str, float]]:
        s: ClipSet = data.splits[split]
        K = len(data.meta["classes"])
        majority = int(np.bincount(data.data.train.labels, minlength=K).argmax())
        mean_frame = predict_proba(self.mean_frame_baseline(data), s).argmax(1)
        return {"mean_frame_features": classification_metrics(s.labels, mean_frame, K),
                "majority_class": classification_metrics(s.labels, np.full(len(s), majority), K)}

    # ---- reports and use ----------------------------------------------------------------------------
    def report(self, model: nn.Module, data: VideoTaskData, split: str, out: str | Path) -> list[Path]:
        """plots/confusion.png and plots/clips.png (clips of `split` with both models' predictions).

        Also writes the first four clips as examples/<split>_<i>_<label>.npy, ready for `rnnkit predict`.
        """
        out, s, classes = Path(out), data.splits[split], data.meta["classes"]
        pred = predict_proba(model, s).argmax(1)
        paths = [plot_confusion(confusion_matrix(s.labels, pred, len(classes)), classes,
                                out / "plots" / "confusion.png", title=f"recurrent model, {split} clips")]
        n = min(data.examples, len(s))
        if n:
            base = predict_proba(self.mean_frame_baseline(data), s).argmax(1)
            captions = [f"true: {classes[s.labels[i]]}   recurrent: {classes[pred[i]]}   "
                        f"mean-frame: {classes[base[i]]}" for i in range(n)]
            paths.append(plot_clips(s.clips[:n], s.lengths[:n], captions, out / "plots" / "clips.png"))
            folder = out / "examples"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(min(n, 4)):
                clip = s.clips[i, :s.lengths[i]].transpose(0, 2, 3, 1)     # (T, H, W, C) as documented
                np.save(folder / f"{split}_{i}_{classes[s.labels[i]]}.npy", clip)
        return paths

    def predict(self, model: nn.Module, meta: dict[str, Any], inputs: list[str]) -> list[dict[str, Any]]:
        """Per .npy clip: the predicted class and every class's probability."""
        clips = [load_clip(p) for p in inputs]
        for p, c in zip(inputs, clips, strict=True):
            if list(c.shape[1:]) != list(meta["frame_shape"]):
                raise DataError(f"{p}: frames are {list(c.shape[1:])} (C, H, W) but the model takes "
                                f"{meta['frame_shape']}")
        x, lengths = stack_clips(clips)
        proba = predict_proba(model, ClipSet(x, np.zeros(len(x), np.int64), lengths))
        classes = meta["classes"]
        return [{"input": p, "label": classes[int(q.argmax())],
                 "probabilities": {c: round(float(v), 4) for c, v in zip(classes, q, strict=True)}}
                for p, q in zip(inputs, proba, strict=True)]
