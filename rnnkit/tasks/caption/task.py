"""caption: image captioning, one-to-many - a CNN encoder conditions an LSTM/GRU decoder word by word.

Data (`--data`):
    twemoji (default) Twemoji icons captioned with their Unicode CLDR names ("man technologist medium
                      skin tone"); test icons unseen in training
    digits            real handwritten digits composed into 1-3 digit numbers and captioned with
                      num2words ("three hundred and forty-two"); test numbers and scans unseen in training
    FILE.csv          your images: `file,caption[,split]` (see `userdata`)

Model: `ConvEncoder` -> features -> `rnnkit.architectures.OneToMany` (the features set the initial state
and are fed at every step), trained with teacher forcing (full BPTT over each caption).
Metrics on held-out images: corpus BLEU-4 (sacrebleu) and exact match, with greedy decoding and, on the
test split, beam search too. Baselines in the same run: the caption of the nearest training image in
pixel space, and the most frequent training caption.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from rnnkit.architectures import sequence_cross_entropy
from rnnkit.tasks.base import TaskConfig, TaskData, model_device
from rnnkit.tasks.caption.baseline import nearest_neighbour_captions
from rnnkit.tasks.caption.batches import CaptionBatch, CaptionBatches
from rnnkit.tasks.caption.data import CaptionData, CaptionSet
from rnnkit.tasks.caption.digits import DigitCaptionsConfig, load_digit_captions
from rnnkit.tasks.caption.images import load_image, save_image
from rnnkit.tasks.caption.metrics import bleu_order, caption_metrics
from rnnkit.tasks.caption.model import Captioner, CaptionerConfig
from rnnkit.tasks.caption.plot import plot_captions
from rnnkit.tasks.caption.twemoji import load_twemoji
from rnnkit.tasks.caption.userdata import load_caption_csv
from rnnkit.tasks.caption.vocab import Vocabulary, tokenize
from rnnkit.tasks.vision.encoder import EncoderConfig, parse_channels
from rnnkit.training.bptt import FullBPTT
from rnnkit.training.config import TrainConfig, option
from rnnkit.training.errors import ConfigError, DataError

EMBEDDED = ("digits", "twemoji")
DECODE_BATCH = 500


@dataclass
class CaptionConfig(TaskConfig):
    dropout: float = option(0.1, "dropout on the decoder's output features", low=0.0, high=0.9)
    data: str | None = option(None, "twemoji (the default: icons captioned with their CLDR names), digits "
                              "(handwritten digits composed into numbers, captioned in words) or a CSV "
                              "file,caption[,split] of your images", metavar="PATH")
    max_digits: int = option(3, "digits: numbers have 1 to this many digits", low=1, high=4)
    lang: str = option("en", "digits: num2words language of the captions (en, fr, de, es, ...)", metavar="LANG")
    train_size: int = option(24000, "digits: composed training images", low=1)
    valid_size: int = option(1000, "digits: composed validation images", low=1)
    test_size: int = option(2000, "digits: composed test images", low=1)
    image_size: int = option(32, "twemoji and CSV images: resized to this many pixels square", low=8)
    channels: int = option(3, "CSV images: 1 (grayscale) or 3 (RGB)", choices=(1, 3))
    embed: int = option(32, "word embedding size", low=1)
    features: int = option(128, "image feature size (the decoder's conditioning vector)", low=1)
    conv: str = option("32,64", "output channels of the encoder's conv blocks, comma-separated", metavar="C,C")
    condition: str = option("both", "how the image reaches the decoder: init (initial state), input (every "
                            "step) or both", choices=("init", "input", "both"))
    beam: int = option(3, "beam width of the extra test metrics (1: greedy only)", low=1)
    epoch_size: int = option(20000, "an epoch repeats the training pairs (reshuffled each pass) until it holds "
                             "at least this many; 0: one pass", low=0)
    examples: int = option(16, "test images in the plot of generated captions", low=0)
    data_seed: int = option(0, "seed of the data: compositions and splits", low=0)

    def validate(self) -> None:
        if self.data is not None and self.data not in EMBEDDED:
            self.data = str(Path(self.data).expanduser().resolve())
        self.conv_channels()
        from num2words import CONVERTER_CLASSES

        if self.lang not in CONVERTER_CLASSES:
            raise ConfigError(f"lang must be a num2words language, e.g. en, fr, de, es; got {self.lang!r}")

    def conv_channels(self) -> tuple[int, ...]:
        return parse_channels(self.conv)


@dataclass
class CaptionTaskData(TaskData):
    data: CaptionData | None = None
    vocab: Vocabulary | None = None
    beam: int = 1                      # beam width of the extra test metrics
    examples: int = 16                 # test images in the report's plot


def caption_loss(model: Captioner, batch: CaptionBatch):
    """Summed cross-entropy over the real target tokens of a teacher-forced batch, and their number.

    The decoder is causal, so the padding after a row's </s> cannot change the logits before it: the
    batch runs without `lengths` (faster) and the padded steps are masked out of the loss.
    """
    logits = model(batch.images, batch.inputs)                               # (B, T, V)
    loss = sequence_cross_entropy(logits, batch.targets, batch.lengths, reduction="sum")
    return loss, batch.lengths.sum()


class Caption:
    """The `caption` task (see the module docstring)."""

    name: ClassVar[str] = "caption"
    description: ClassVar[str] = ("image captioning, one-to-many: CNN features condition an LSTM/GRU decoder "
                                  "(default: Twemoji icons captioned with their Unicode names)")
    primary: ClassVar[str] = "bleu"
    higher_is_better: ClassVar[bool] = True
    config_class: ClassVar[type[TaskConfig]] = CaptionConfig

    def train_defaults(self) -> dict[str, Any]:
        return {"bptt": "full", "batch_size": 64, "epochs": 5, "lr": 3e-3, "schedule": "cosine",
                "final_lr_ratio": 0.05, "eval_every": 0, "checkpoint_every": 500}

    def quick(self) -> dict[str, dict[str, Any]]:
        return {"task": {"train_size": 6000, "valid_size": 300, "test_size": 500, "epoch_size": 10000, "beam": 2,
                         "examples": 8},
                "train": {"epochs": 3, "lr": 5e-3}}

    # ---- data ---------------------------------------------------------------------------------------
    def load(self, cfg: CaptionConfig, meta: dict[str, Any] | None = None) -> CaptionData:
        """The three splits of the configured data."""
        source = cfg.data or "twemoji"
        if source == "digits":
            return load_digit_captions(DigitCaptionsConfig(
                max_digits=cfg.max_digits, train_size=cfg.train_size, valid_size=cfg.valid_size,
                test_size=cfg.test_size, lang=cfg.lang, seed=cfg.data_seed))
        if source == "twemoji":
            return load_twemoji(cfg.image_size, cfg.data_seed)
        size, channels = cfg.image_size, cfg.channels
        if meta is not None:
            channels, size = meta["image_shape"][0], meta["image_shape"][1]
        return load_caption_csv(source, size, channels, cfg.data_seed)

    def build_data(self, cfg: CaptionConfig, train: TrainConfig, meta: dict[str, Any] | None = None) -> TaskData:
        data = self.load(cfg, meta)
        if meta is not None:
            vocab = Vocabulary(meta["vocab"])
            if list(data.train.shape) != list(meta["image_shape"]):
                raise DataError(f"{cfg.data or 'twemoji'}: images are {list(data.train.shape)} (C, H, W) but the "
                                f"model was trained on {meta['image_shape']}")
        else:
            vocab = Vocabulary.build(c for refs in data.train.references for c in refs)
            longest = max(len(tokenize(c)) for refs in data.train.references for c in refs)
            meta = {"vocab": vocab.itos, "image_shape": list(data.train.shape), "max_length": longest + 5,
                    "invert": cfg.data == "digits", "source": cfg.data or "twemoji",
                    "bleu_order": bleu_order(c for refs in data.train.references for c in refs)}
        batches = CaptionBatches(data.train, vocab, train.batch_size, seed=train.seed, epoch_size=cfg.epoch_size)
        sizes = ", ".join(f"{len(data.split(s))} {s}" for s in ("train", "valid", "test"))
        summary = (f"{data.description}; {sizes} images, vocabulary {len(vocab)}, BLEU-{meta.get('bleu_order', 4)}. "
                   f"Credits: {' | '.join(data.credits)}")
        return CaptionTaskData(batches, meta, {"valid": data.valid, "test": data.test}, summary, data, vocab,
                               cfg.beam, cfg.examples)

    # ---- model and training -------------------------------------------------------------------------
    def build_model(self, cfg: CaptionConfig, meta: dict[str, Any]) -> nn.Module:
        options = {} if cfg.engine == "auto" else {"engine": cfg.engine}
        try:
            config = CaptionerConfig(cell=cfg.cell, hidden_size=cfg.hidden, num_layers=cfg.layers,
                                     embedding_dim=cfg.embed, condition=cfg.condition, dropout=cfg.dropout,
                                     encoder=EncoderConfig(channels=cfg.conv_channels(), feature_size=cfg.features),
                                     layer_options=options)
            return Captioner(tuple(meta["image_shape"]), len(meta["vocab"]), config)
        except ValueError as e:                  # e.g. more pooling blocks than the images allow
            raise ConfigError(str(e)) from None

    def stepper(self, cfg: CaptionConfig, train: TrainConfig) -> FullBPTT:
        return FullBPTT(caption_loss)

    # ---- metrics ------------------------------------------------------------------------------------
    def captions(self, model: Captioner, meta: dict[str, Any], images: np.ndarray, beam: int = 1) -> list[str]:
        """Generated captions for images (N, C, H, W), greedy (beam=1) or by beam search."""
        vocab, device, out = Vocabulary(meta["vocab"]), model_device(model), []
        for s in range(0, len(images), DECODE_BATCH):
            x = torch.as_tensor(images[s:s + DECODE_BATCH], device=device)
            decoded = model.generate(x, beam_width=beam, max_length=meta["max_length"])
            out += [vocab.decode(row) for row in decoded.tokens.tolist()]
        return out

    def evaluate(self, model: nn.Module, data: CaptionTaskData, split: str) -> dict[str, float]:
        """BLEU and exact match with greedy decoding; on the test split also with beam search."""
        s: CaptionSet = data.splits[split]
        order = data.meta.get("bleu_order", 4)
        metrics = caption_metrics(self.captions(model, data.meta, s.images), s.references, order)
        beam = data.beam
        if split == "test" and beam > 1:
            m = caption_metrics(self.captions(model, data.meta, s.images, beam), s.references, order)
            metrics.update({f"{k}_beam{beam}": v for k, v in m.items()})
        return metrics

    def baselines(self, data: CaptionTaskData, split: str) -> dict[str, dict[str, float]]:
        s: CaptionSet = data.splits[split]
        train = data.data.train
        first = [refs[0] for refs in train.references]
        nearest = nearest_neighbour_captions(train.images, first, s.images)
        mode = Counter(c for refs in train.references for c in refs).most_common(1)[0][0]
        order = data.meta.get("bleu_order", 4)
        return {"nearest_neighbour_pixels": caption_metrics(nearest, s.references, order),
                "most_frequent_caption": caption_metrics([mode] * len(s), s.references, order)}

    # ---- reports and use ----------------------------------------------------------------------------
    def report(self, model: nn.Module, data: CaptionTaskData, split: str, out: str | Path) -> list[Path]:
        """plots/captions.png: images of `split` with the generated and the true captions.

        Also writes the first four as examples/<split>_<i>.png, ready for `rnnkit predict --input`.
        """
        out = Path(out)
        s: CaptionSet = data.splits[split]
        n = min(data.examples, len(s))
        if n == 0:
            return []
        generated = self.captions(model, data.meta, s.images[:n])
        invert = bool(data.meta.get("invert"))
        plot = plot_captions(s.images[:n], generated, s.references[:n], out / "plots" / "captions.png",
                             title=f"{split} images: generated caption (green: exact) and the truth", invert=invert)
        (out / "examples").mkdir(parents=True, exist_ok=True)
        for i in range(min(n, 4)):
            save_image(s.images[i], out / "examples" / f"{split}_{i}.png", invert=invert)
        return [plot]

    def predict(self, model: nn.Module, meta: dict[str, Any], inputs: list[str]) -> list[dict[str, Any]]:
        """Per image file: the greedy caption and the beam-search (width 3) caption."""
        shape = tuple(meta["image_shape"])
        images = np.stack([load_image(p, shape, invert=bool(meta.get("invert")), where=p) for p in inputs])
        greedy = self.captions(model, meta, images)
        beam = self.captions(model, meta, images, beam=3)
        return [{"input": p, "caption": g, "caption_beam3": b} for p, g, b in zip(inputs, greedy, beam, strict=True)]
