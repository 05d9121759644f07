"""sentiment: sentence classification (many-to-one) with subword embeddings and an rnnkit encoder.

    rnnkit train --task sentiment                        # Rotten Tomatoes sentences, negative/positive
    rnnkit train --task sentiment --data reviews.csv --labels neg,neu,pos --cell gru
    rnnkit predict --checkpoint runs/sentiment-... --input "A gorgeous, witty film."

Data and splits: `data`. Tokens: a SentencePiece model trained on the training split only
(`tokenizer`). Model: `model`. Baselines in the same run, on the same splits: the majority class and a
bag-of-words logistic regression (`baseline`). Metrics: accuracy (primary) and macro-F1; `report`
draws the confusion matrices of the model and of the bag-of-words baseline.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from torch import nn

from rnnkit.tasks.base import TaskConfig, TaskData
from rnnkit.tasks.sentiment import data as D
from rnnkit.tasks.sentiment.baseline import BagOfWords, majority
from rnnkit.tasks.sentiment.batches import TokenBatches
from rnnkit.tasks.sentiment.config import SentimentConfig
from rnnkit.tasks.sentiment.metrics import classification_metrics, confusion, plot_confusion
from rnnkit.tasks.sentiment.model import batch_loss, build_classifier, predict_proba
from rnnkit.tasks.sentiment.tokenizer import SubwordTokenizer
from rnnkit.training.bptt import FullBPTT
from rnnkit.training.config import TrainConfig
from rnnkit.training.errors import DataError


@dataclass
class Split:
    """A held-out split: raw texts (for the bag-of-words baseline), their token ids and labels."""

    texts: list[str]
    ids: list[np.ndarray]
    labels: np.ndarray


@dataclass
class SentimentData(TaskData):
    train_texts: list[str] = field(default_factory=list)
    train_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    names: tuple[str, ...] = ()
    ngrams: int = 2
    lowercase: bool = True


class Sentiment:
    """The `sentiment` task (see the module docstring)."""

    name: ClassVar[str] = "sentiment"
    description: ClassVar[str] = ("sentence classification, many-to-one (default: Rotten Tomatoes sentences, "
                                  "negative/positive)")
    primary: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    config_class: ClassVar[type[TaskConfig]] = SentimentConfig

    def __init__(self) -> None:
        self._bow: dict[tuple, BagOfWords] = {}

    def train_defaults(self) -> dict[str, Any]:
        return {"bptt": "full", "batch_size": 64, "epochs": 6, "lr": 2e-3, "schedule": "cosine",
                "eval_every": 0, "checkpoint_every": 500, "weight_decay": 0.0}

    def quick(self) -> dict[str, dict[str, Any]]:
        return {"task": {"max_train": 3000, "hidden": 64, "embed": 64, "vocab": 3000},
                "train": {"epochs": 2, "batch_size": 32, "lr": 5e-3, "schedule": "constant",
                          "threads": 1}}   # small matrices: a second thread costs more than it gives

    # ---- data ---------------------------------------------------------------------------------------
    def build_data(self, cfg: SentimentConfig, train: TrainConfig, meta: dict[str, Any] | None = None
                   ) -> SentimentData:
        names = tuple(meta["labels"]) if meta else D.parse_labels(cfg.labels)
        if cfg.data is None:
            full, credit = D.load_movie_reviews(), D.CREDIT
        else:
            full, credit = D.read_labeled_csv(cfg.data, names), f"data: {cfg.data}"
        names = names or full.names
        if cfg.test_data is not None:
            kept, test = full, D.read_labeled_csv(cfg.test_data, names)
        else:
            k, t = D.fixed_split(full.labels, cfg.test_fraction)
            kept, test = full.subset(k), full.subset(t)
        k, v = D.fixed_split(kept.labels, cfg.valid_fraction)
        fit, valid = kept.subset(k), kept.subset(v)
        if cfg.max_train is not None and cfg.max_train < len(fit):
            fit = fit.subset(np.sort(np.random.default_rng(D.SPLIT_SEED).permutation(len(fit))[: cfg.max_train]))
        if meta:
            tokenizer = SubwordTokenizer.from_meta(meta["tokenizer"])
        else:
            absent = [n for i, n in enumerate(names) if not (fit.labels == i).any()]
            if absent:   # the model will never predict them, and macro-F1 counts each as 0
                print(f"warning: declared label(s) {', '.join(absent)} never occur in the training part",
                      file=sys.stderr, flush=True)
            tokenizer = SubwordTokenizer.train(fit.texts, cfg.vocab, cfg.lowercase)
            meta = {"tokenizer": tokenizer.to_meta(), "labels": list(names), "max_tokens": cfg.max_tokens}

        def encode(part: D.LabeledTexts) -> list[np.ndarray]:
            return tokenizer.encode_all(part.texts, cfg.max_tokens)

        source = TokenBatches(encode(fit), fit.labels, train.batch_size, seed=train.seed,
                              word_dropout=cfg.word_dropout)
        splits = {n: Split(p.texts, encode(p), p.labels) for n, p in (("valid", valid), ("test", test))}
        counts = np.bincount(full.labels, minlength=len(names))
        summary = (f"{len(full):,} sentences ({', '.join(f'{c:,} {n}' for n, c in zip(names, counts, strict=True))}"
                   f"); train {len(fit):,}, valid {len(valid):,}, test {len(test):,}; {tokenizer.vocab_size:,} "
                   f"subword pieces; {credit}")
        return SentimentData(source, meta, splits, summary, fit.texts, fit.labels, names, cfg.ngrams, cfg.lowercase)

    # ---- model and training -------------------------------------------------------------------------
    def build_model(self, cfg: SentimentConfig, meta: dict[str, Any]) -> nn.Module:
        vocab = SubwordTokenizer.from_meta(meta["tokenizer"]).vocab_size
        return build_classifier(cfg, vocab, len(meta["labels"]))

    def stepper(self, cfg: SentimentConfig, train: TrainConfig) -> FullBPTT:
        return FullBPTT(batch_loss)

    # ---- metrics ------------------------------------------------------------------------------------
    def evaluate(self, model: nn.Module, data: SentimentData, split: str) -> dict[str, float]:
        part = data.splits[split]
        pred = predict_proba(model, part.ids).argmax(1)
        return classification_metrics(part.labels, pred, len(data.names))

    def baselines(self, data: SentimentData, split: str) -> dict[str, dict[str, float]]:
        part, k = data.splits[split], len(data.names)
        bow = self._bag_of_words(data)
        return {"majority": classification_metrics(part.labels, majority(data.train_labels, len(part.labels)), k),
                f"bow_logreg_{data.ngrams}gram": {**classification_metrics(part.labels, bow.predict(part.texts), k),
                                                  "C": bow.C}}

    def _bag_of_words(self, data: SentimentData) -> BagOfWords:
        key = (id(data), data.ngrams)
        if key not in self._bow:
            valid = data.splits["valid"]
            self._bow[key] = BagOfWords(data.ngrams, data.lowercase).fit(
                data.train_texts, data.train_labels, valid.texts, valid.labels)
        return self._bow[key]

    def report(self, model: nn.Module, data: SentimentData, split: str, out: str | Path) -> list[Path]:
        """Confusion matrices of the model and of the bag-of-words baseline, as PNGs in `out`/plots."""
        part, k = data.splits[split], len(data.names)
        plots = Path(out) / "plots"
        results = (("model", predict_proba(model, part.ids).argmax(1)),
                   ("bow_logreg", self._bag_of_words(data).predict(part.texts)))
        paths = []
        for who, pred in results:
            m = confusion(part.labels, pred, k)
            acc = classification_metrics(part.labels, pred, k)
            title = f"{who} on {split}: accuracy {acc['accuracy']:.3f}, macro-F1 {acc['macro_f1']:.3f}"
            paths.append(plot_confusion(m, data.names, plots / f"confusion_{who}_{split}.png", title))
        return paths

    # ---- using a trained model ----------------------------------------------------------------------
    def predict(self, model: nn.Module, meta: dict[str, Any], inputs: list[str]) -> list[dict[str, Any]]:
        """Per input sentence: the predicted label and every class's probability."""
        tokenizer, names = SubwordTokenizer.from_meta(meta["tokenizer"]), meta["labels"]
        texts = [D.clean(t) for t in inputs]
        for i, t in enumerate(texts):
            if not t:
                raise DataError(f"input {i + 1}: empty text")
        probs = predict_proba(model, tokenizer.encode_all(texts, meta["max_tokens"]))
        return [{"input": text, "label": names[int(p.argmax())],
                 "probabilities": {n: round(float(q), 4) for n, q in zip(names, p, strict=True)}}
                for text, p in zip(inputs, probs, strict=True)]
