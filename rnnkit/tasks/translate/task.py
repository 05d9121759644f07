"""translate: encoder-decoder translation (seq2seq) with attention, greedy and beam decoding.

    rnnkit train --task translate                       # English -> French number words, attention on
    rnnkit train --task translate --target-lang de --attention additive --cell gru
    rnnkit train --task translate --data pairs.tsv      # your own source,target pairs
    rnnkit predict --checkpoint runs/translate-... --input "four thousand, three hundred and twenty-one"

Data and unseen-source splits: `data`. Words: `tokenizer`. Model, loss and decoders: `model`. Training
is teacher-forced with scheduled sampling (`batches`). Metrics (`metrics`): exact match (primary) and
BLEU of greedy decoding; on the test split also of beam search (`--beam`). Baseline in the same run:
the same model and training without attention, so the gap attention makes is measured, not assumed.
`report` draws attention heat maps and exact match by source length for both models.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from torch import nn

from rnnkit.tasks.base import TaskConfig, TaskData
from rnnkit.tasks.translate import data as D
from rnnkit.tasks.translate.batches import PairBatches
from rnnkit.tasks.translate.config import TranslateConfig
from rnnkit.tasks.translate.metrics import exact_match, translation_metrics
from rnnkit.tasks.translate.model import Hypothesis, batch_loss, build_translator, decode
from rnnkit.tasks.translate.plots import plot_attention, plot_length_accuracy
from rnnkit.tasks.translate.tokenizer import Vocabulary, tokenize
from rnnkit.training.bptt import FullBPTT
from rnnkit.training.callbacks import Callback
from rnnkit.training.config import TrainConfig
from rnnkit.training.errors import DataError
from rnnkit.training.trainer import Trainer

CREDIT = "data: number words written out by the num2words package (LGPL-2.1)"


def vocabularies(meta: dict[str, Any]) -> tuple[Vocabulary, Vocabulary]:
    """(source, target) vocabularies of a run (runs before the `tokens` option were word-level)."""
    unit = meta.get("tokens", "word")
    return Vocabulary(meta["source_vocab"], unit), Vocabulary(meta["target_vocab"], unit)


@dataclass
class Held:
    """A held-out split: source and reference texts, and the source ids."""

    sources: list[str]
    targets: list[str]
    src_ids: list[np.ndarray]


@dataclass
class TranslateData(TaskData):
    task_cfg: TranslateConfig | None = None
    train_cfg: TrainConfig | None = None
    cache: dict[str, Any] = field(default_factory=dict)   # the no-attention baseline, once trained


class BestWeights(Callback):
    """Keeps a copy of the weights at the best held-out evaluation (for a run that writes no checkpoints),
    and reports each evaluation on standard error (standard output may carry `rnnkit evaluate`'s JSON)."""

    def __init__(self, name: str) -> None:
        self.name, self.state = name, None

    def on_eval(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        if trainer.state.best_step == trainer.state.step:
            self.state = copy.deepcopy(trainer.model.state_dict())
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        print(f"{self.name}: update {trainer.state.step}: held-out {shown}", file=sys.stderr, flush=True)


class Translate:
    """The `translate` task (see the module docstring)."""

    name: ClassVar[str] = "translate"
    description: ClassVar[str] = ("encoder-decoder translation with attention (default: English -> French number "
                                  "words from num2words)")
    primary: ClassVar[str] = "exact_match"
    higher_is_better: ClassVar[bool] = True
    config_class: ClassVar[type[TaskConfig]] = TranslateConfig

    def train_defaults(self) -> dict[str, Any]:
        return {"bptt": "full", "batch_size": 64, "epochs": 12, "lr": 3e-3, "schedule": "cosine",
                "eval_every": 0, "checkpoint_every": 500}

    def quick(self) -> dict[str, dict[str, Any]]:
        return {"task": {"hidden": 64, "embed": 32, "baseline": False, "beam": 3, "heatmaps": 2},
                "default_data": {"numbers": 3000, "max_number": 9999},
                "train": {"epochs": 4, "batch_size": 32, "lr": 5e-3,
                          "threads": 1}}   # small matrices: a second thread costs more than it gives

    # ---- data ---------------------------------------------------------------------------------------
    def build_data(self, cfg: TranslateConfig, train: TrainConfig, meta: dict[str, Any] | None = None
                   ) -> TranslateData:
        if cfg.data is not None:
            pairs, credit = D.read_pairs(cfg.data), f"data: {cfg.data}"
        else:
            pairs = D.number_pairs(D.draw_numbers(cfg.numbers, cfg.max_number), cfg.source_lang, cfg.target_lang)
            credit = f"{CREDIT}, {cfg.source_lang} -> {cfg.target_lang}"
        fit, valid, test = D.split_by_key(pairs, cfg.valid_fraction, cfg.test_fraction)
        built = meta
        if meta is None:
            src_vocab = Vocabulary.build(fit.sources, cfg.min_count, cfg.tokens)
            tgt_vocab = Vocabulary.build(fit.targets, cfg.min_count, cfg.tokens)
            longest = max(len(tokenize(t, cfg.tokens)) for t in fit.targets)
            meta = {"source_vocab": src_vocab.tokens, "target_vocab": tgt_vocab.tokens, "tokens": cfg.tokens,
                    "max_length": 2 * longest + 5, "beam": cfg.beam, "length_norm": cfg.length_norm}
        src_vocab, tgt_vocab = vocabularies(meta)
        if built is not None:   # a trained model on other data: its source words must mostly be known
            held = [*valid.sources, *test.sources]
            tokens = sum(len(tokenize(t, src_vocab.unit)) for t in held)
            unknown = sum(len(src_vocab.unknown(t)) for t in held) / max(1, tokens)
            if unknown > 0.5:
                raise DataError(f"{cfg.data}: {unknown:.0%} of the held-out source {src_vocab.unit}s are outside "
                                "the model's vocabulary; it was trained on other data")
        unseen = sum(bool(tgt_vocab.unknown(t)) for t in test.targets) / max(1, len(test))
        if tgt_vocab.unit == "word" and unseen > 0.2:
            print(f"note: {unseen:.0%} of the test targets hold a word never seen in training, which no word-level "
                  "model can write; --tokens char can (e.g. for languages that join number words into one: de, "
                  "nl, sv)", file=sys.stderr, flush=True)

        def ids(texts: list[str], vocab: Vocabulary, end: bool = False) -> list[np.ndarray]:
            return [np.asarray(vocab.encode(t, end=end), dtype=np.int64) for t in texts]

        source = PairBatches(ids(fit.sources, src_vocab), ids(fit.targets, tgt_vocab, end=True), train.batch_size,
                             seed=train.seed, sampling=cfg.sampling, epochs=train.epochs)
        splits = {name: Held(p.sources, p.targets, ids(p.sources, src_vocab)) for name, p in
                  (("valid", valid), ("test", test))}
        summary = (f"{len(pairs):,} pairs ({pairs.origin}); train {len(fit):,}, valid {len(valid):,}, test "
                   f"{len(test):,}, no held-out source seen in training; vocabulary {len(src_vocab)} source, "
                   f"{len(tgt_vocab)} target {'words' if cfg.tokens == 'word' else 'characters'}; {credit}")
        if not cfg.baseline and cfg.attention != "none":
            summary += "; no no-attention baseline in this run (--baseline trains it)"
        return TranslateData(source, meta, splits, summary, cfg, train)

    # ---- model and training -------------------------------------------------------------------------
    def build_model(self, cfg: TranslateConfig, meta: dict[str, Any]) -> nn.Module:
        attention = None if cfg.attention == "none" else cfg.attention
        return build_translator(cfg, len(meta["source_vocab"]), len(meta["target_vocab"]), attention)

    def stepper(self, cfg: TranslateConfig, train: TrainConfig) -> FullBPTT:
        return FullBPTT(batch_loss)

    # ---- metrics ------------------------------------------------------------------------------------
    def translations(self, model: nn.Module, data: TranslateData, split: str, search: str = "greedy"
                     ) -> tuple[list[str], list[Hypothesis]]:
        """Decoded texts and hypotheses of a held-out split (beam search uses the run's --beam width)."""
        meta, part = data.meta, data.splits[split]
        hyps = decode(model, part.src_ids, search=search, beam_width=meta["beam"], max_length=meta["max_length"],
                      length_norm=meta["length_norm"])
        vocab = vocabularies(meta)[1]
        return [vocab.decode(h.ids) for h in hyps], hyps

    def evaluate(self, model: nn.Module, data: TranslateData, split: str) -> dict[str, float]:
        """Exact match and BLEU of greedy decoding; on the test split, also of beam search (`_beam`)."""
        refs = data.splits[split].targets
        metrics = translation_metrics(self.translations(model, data, split)[0], refs)
        if split == "test" and data.meta["beam"] > 1:
            metrics.update(translation_metrics(self.translations(model, data, split, "beam")[0], refs, "_beam"))
        return metrics

    def baselines(self, data: TranslateData, split: str) -> dict[str, dict[str, float]]:
        """The same model trained the same way without attention (with --baseline, the default, and when the
        model itself has attention)."""
        if not data.task_cfg.baseline or data.task_cfg.attention == "none":
            return {}
        return {"no_attention": self.evaluate(self._no_attention(data), data, split)}

    def _no_attention(self, data: TranslateData) -> nn.Module:
        if "no_attention" not in data.cache:
            cfg = data.task_cfg.replace(attention="none")
            model = self.build_model(cfg, data.meta)
            best = BestWeights("baseline no_attention")
            print(f"baseline: training the same model without attention ({data.train_cfg.epochs} epochs of "
                  f"{len(data.train)} updates)", file=sys.stderr, flush=True)
            trainer = Trainer(model, data.train_cfg, data.train, self.stepper(cfg, data.train_cfg),
                              evaluate=lambda m: translation_metrics(self.translations(m, data, "valid")[0],
                                                                     data.splits["valid"].targets),
                              primary=self.primary, higher_is_better=True, callbacks=[best],
                              distributed=False)   # rank 0 alone trains it
            trainer.fit()
            if best.state is not None:
                model.load_state_dict(best.state)
            data.cache["no_attention"] = model.eval()
        return data.cache["no_attention"]

    def report(self, model: nn.Module, data: TranslateData, split: str, out: str | Path) -> list[Path]:
        """Attention heat maps for a few examples, and exact match by source length (with the baseline's)."""
        plots, part = Path(out) / "plots", data.splits[split]
        texts, hyps = self.translations(model, data, split)
        paths = []
        n = min(data.task_cfg.heatmaps, len(texts))
        if n and hyps[0].attention is not None:
            by_length = np.argsort([len(s) for s in part.src_ids], kind="stable")
            picks = by_length[np.linspace(len(by_length) // 3, len(by_length) - 1, n).astype(int)]
            src_vocab, vocab = vocabularies(data.meta)
            examples = []
            for i in picks:
                out_tokens = [vocab.tokens[j] for j in hyps[i].ids] + ["</s>"]
                weights = hyps[i].attention[: len(out_tokens)]
                mark = "correct" if texts[i] == part.targets[i] else f"reference: {part.targets[i]}"
                examples.append((tokenize(part.sources[i], src_vocab.unit), out_tokens, weights,
                                 f"{part.sources[i]}\n({mark})"))
            paths.append(plot_attention(examples, plots / f"attention_{split}.png"))
        curves = {"attention" if hyps[0].attention is not None else "model": texts}
        if "no_attention" in data.cache:
            curves["no attention"] = self.translations(data.cache["no_attention"], data, split)[0]
        lengths = [len(s) for s in part.src_ids]
        paths.append(plot_length_accuracy(lengths, part.targets, curves, exact_match,
                                          plots / f"exact_match_by_length_{split}.png"))
        return paths

    # ---- using a trained model ----------------------------------------------------------------------
    def predict(self, model: nn.Module, meta: dict[str, Any], inputs: list[str]) -> list[dict[str, Any]]:
        """Per source text: the beam-search translation, its log-probability and any unknown source words."""
        src_vocab, tgt_vocab = vocabularies(meta)
        texts = [D.clean(t) for t in inputs]
        for i, t in enumerate(texts):
            if not t:
                raise DataError(f"input {i + 1}: empty text")
        if not any(c.isupper() for token in src_vocab.tokens for c in token):   # trained on lowercase text
            texts = [t.lower() for t in texts]
        ids = [np.asarray(src_vocab.encode(t), dtype=np.int64) for t in texts]
        search = "beam" if meta["beam"] > 1 else "greedy"
        hyps = decode(model, ids, search=search, beam_width=meta["beam"], max_length=meta["max_length"],
                      length_norm=meta["length_norm"])
        return [{"input": t, "translation": tgt_vocab.decode(h.ids), "log_prob": round(h.score, 4),
                 "unknown_words": [w.lstrip("\u2581") for w in src_vocab.unknown(t)]}
                for t, h in zip(texts, hyps, strict=True)]
