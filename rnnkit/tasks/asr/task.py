"""asr: speech recognition - audio to text with a bidirectional recurrent encoder trained with CTC.

    rnnkit train --task asr                                   # number phrases spoken by 77 espeak-ng voices
    rnnkit train --task asr --quick                           # about two minutes, for tests and demos
    rnnkit train --task asr --data recordings/ --resample     # your WAV files + recordings/transcripts.tsv
    rnnkit predict --checkpoint runs/asr-... --input hello.wav

Data (`corpus`, `userdata`): by default, phrases synthesised by espeak-ng across many voices, rates,
pitches, loudness and noise levels, with whole voices held out: the test error is measured on speakers
the model never heard. Features (`features`): 40 log-mel bands every 10 ms (librosa), standardised with
the training frames' statistics only; SpecAugment masks on training batches. Model (`model`): frames
stacked 3 by 3, a stacked bidirectional rnnkit LSTM/GRU over `lengths`, a linear CTC head over the blank
and the characters (`alphabet`). Decoding (`decoding`): greedy, and prefix beam search for `wer_beam`
and `predict`. Metrics (`metrics`): WER (primary), CER and sentence error rate with jiwer; baselines in
the same run (`baseline`): a frame-wise MLP with CTC (no recurrence) and the best constant transcript.
`report` plots the spectrogram of test utterances with their CTC alignment and writes example WAVs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from rnnkit.tasks.asr.alphabet import Alphabet
from rnnkit.tasks.asr.audio import read_audio, write_wav
from rnnkit.tasks.asr.baseline import constant_transcript, train_frame_mlp
from rnnkit.tasks.asr.batches import UtteranceBatches
from rnnkit.tasks.asr.config import AsrConfig
from rnnkit.tasks.asr.corpus import CREDIT, CorpusSpec, recipes, render, synthetic_corpus
from rnnkit.tasks.asr.decoding import decode, greedy_decode
from rnnkit.tasks.asr.espeak import espeak_version, require_espeak
from rnnkit.tasks.asr.features import FeatureSpec, log_mel
from rnnkit.tasks.asr.metrics import error_rates
from rnnkit.tasks.asr.model import CTCEncoder, ctc_loss_sum, min_ctc_steps, posteriors
from rnnkit.tasks.asr.plot import Example, plot_alignments
from rnnkit.tasks.asr.userdata import TRANSCRIPTS, load_user_data
from rnnkit.tasks.asr.utterances import Utterances
from rnnkit.tasks.base import TaskConfig, TaskData
from rnnkit.tasks.scaling import ChannelScaler
from rnnkit.training.bptt import FullBPTT
from rnnkit.training.config import TrainConfig
from rnnkit.training.errors import DataError

PREDICT_HINT = "convert it, e.g. sox in.wav -r {rate} out.wav, or train the model with --resample"


@dataclass
class AsrData(TaskData):
    alphabet: Alphabet | None = None
    scaler: ChannelScaler | None = None
    spec: FeatureSpec | None = None
    train_set: Utterances | None = None            # standardised, like every split in `splits`
    train_targets: list[list[int]] = field(default_factory=list)
    corpus: CorpusSpec | None = None               # the synthetic corpus's recipe (None for user data)
    cfg: AsrConfig | None = None
    device: str = "auto"
    threads: int | None = None
    cache: dict[str, Any] = field(default_factory=dict)   # the trained frame-wise baseline


class ASR:
    """The `asr` task (see the module docstring)."""

    name: ClassVar[str] = "asr"
    description: ClassVar[str] = ("speech recognition: log-mel features, bidirectional LSTM/GRU + CTC (default: "
                                  "number phrases by espeak-ng voices, test voices unseen; or your WAV files)")
    primary: ClassVar[str] = "wer"
    higher_is_better: ClassVar[bool] = False
    config_class: ClassVar[type[TaskConfig]] = AsrConfig

    def train_defaults(self) -> dict[str, Any]:
        return {"bptt": "full", "batch_size": 16, "epochs": 8, "lr": 3e-3, "schedule": "cosine",
                "warmup_steps": 100, "final_lr_ratio": 0.05, "eval_every": 0, "checkpoint_every": 200}

    def quick(self) -> dict[str, dict[str, Any]]:
        return {"task": {"per_voice": 12, "eval_per_voice": 15, "hidden": 96, "layers": 2, "dropout": 0.1,
                         "baseline_epochs": 2, "examples": 2},
                "train": {"epochs": 12, "lr": 5e-3, "warmup_steps": 20}}

    # ---- data ---------------------------------------------------------------------------------------
    def build_data(self, cfg: AsrConfig, train: TrainConfig, meta: dict[str, Any] | None = None) -> AsrData:
        alphabet = Alphabet(meta["alphabet"] if meta else cfg.alphabet)
        spec = FeatureSpec(**meta["features"]) if meta else cfg.feature_spec()
        corpus = None
        if cfg.data:
            splits = load_user_data(cfg.data, alphabet, spec, resample=cfg.resample,
                                    valid_fraction=cfg.valid_fraction, test_fraction=cfg.test_fraction,
                                    seed=cfg.data_seed, progress=train.progress)
            credit = f"{Path(cfg.data).name}/{TRANSCRIPTS}: user data"
        else:
            require_espeak()
            corpus = dataclasses.replace(cfg.corpus_spec(), features=spec)
            splits = synthetic_corpus(corpus, cfg.cache, progress=train.progress)
            credit = CREDIT.format(version=espeak_version())
        targets = {name: self._targets(part, alphabet, cfg.subsample, spec) for name, part in splits.items()}
        if meta is None:
            scaler = ChannelScaler.fit(splits["train"].features)          # training frames only: no leakage
            meta = {"alphabet": alphabet.chars, "features": spec.to_dict(), "scaler": scaler.state_dict(),
                    "resample": cfg.resample, "beam": cfg.beam}
        scaler = ChannelScaler.from_state_dict(meta["scaler"])
        std = {name: part.with_features([scaler.transform(f) for f in part.features]) for name, part in splits.items()}
        source = UtteranceBatches(std["train"].features, targets["train"], train.batch_size, seed=train.seed,
                                  augment=cfg.augment())
        return AsrData(source, meta, {"valid": std["valid"], "test": std["test"]}, _summary(splits, spec, credit),
                       alphabet, scaler, spec, std["train"], targets["train"], corpus, cfg, train.device,
                       train.threads)

    @staticmethod
    def _targets(part: Utterances, alphabet: Alphabet, subsample: int, spec: FeatureSpec) -> list[list[int]]:
        """Character ids per utterance; DataError if an utterance is too short for its transcript."""
        out = []
        for name, text, frames in zip(part.names, part.texts, part.frames.tolist(), strict=True):
            ids = alphabet.encode(text, name)
            steps, need = -(-frames // subsample), min_ctc_steps(ids)
            if steps < need:
                raise DataError(f"{name}: {(frames - 1) * spec.hop_ms / 1000:.2f} s of audio give {steps} steps after "
                                f"subsampling by {subsample}, but its transcript ({len(ids)} characters) needs "
                                f"{need}: check the transcript, or lower --subsample")
            out.append(ids)
        return out

    # ---- model and training -------------------------------------------------------------------------
    def build_model(self, cfg: AsrConfig, meta: dict[str, Any]) -> nn.Module:
        return CTCEncoder(meta["features"]["n_mels"], len(meta["alphabet"]) + 1, cell=cfg.cell, hidden=cfg.hidden,
                          layers=cfg.layers, dropout=cfg.dropout, subsample=cfg.subsample,
                          bidirectional=cfg.bidirectional, engine=cfg.engine)

    def stepper(self, cfg: AsrConfig, train: TrainConfig) -> FullBPTT:
        return FullBPTT(ctc_loss_sum)

    # ---- metrics ------------------------------------------------------------------------------------
    def evaluate(self, model: nn.Module, data: AsrData, split: str) -> dict[str, float]:
        """Greedy WER/CER/SER on the split; on the test split also with the prefix beam search (wer_beam)."""
        part = data.splits[split]
        lps = posteriors(model, part.features)
        metrics = error_rates(part.texts, [data.alphabet.decode(greedy_decode(lp)) for lp in lps])
        beam = int(data.meta.get("beam", 1))
        if split == "test" and beam > 1:
            rates = error_rates(part.texts, [data.alphabet.decode(decode(lp, beam)) for lp in lps])
            metrics.update({f"{k}_beam": v for k, v in rates.items()})
        return metrics

    def frame_mlp(self, data: AsrData) -> nn.Module:
        if "frame_mlp" not in data.cache:
            cfg = data.cfg
            data.cache["frame_mlp"] = train_frame_mlp(
                data.train_set.features, data.train_targets, data.alphabet.size, subsample=cfg.subsample,
                context=cfg.baseline_context, hidden=cfg.baseline_hidden, epochs=cfg.baseline_epochs,
                batch_size=data.train.batch_size, seed=data.train.seed, device=data.device, threads=data.threads)
        return data.cache["frame_mlp"]

    def baselines(self, data: AsrData, split: str) -> dict[str, dict[str, float]]:
        part = data.splits[split]
        mlp = [data.alphabet.decode(greedy_decode(lp)) for lp in posteriors(self.frame_mlp(data), part.features)]
        constant = constant_transcript(data.train_set.texts)
        return {"frame_mlp_ctc": error_rates(part.texts, mlp),
                "constant": error_rates(part.texts, [constant] * len(part))}

    def report(self, model: nn.Module, data: AsrData, split: str, out: str | Path) -> list[Path]:
        """plots/alignment_<split>.png: two utterances (of different speakers) with their CTC alignment. For the
        synthetic corpus also examples/: a few test utterances as WAV with a transcripts.tsv, for `predict`
        (and a folder `--data` reads). Returns the plots."""
        out, part = Path(out), data.splits[split]
        picks = ([part.speakers.index(s) for s in dict.fromkeys(part.speakers)] + [0, 1])[:min(2, len(part))]
        picks = picks if len(set(picks)) == len(picks) else list(range(min(2, len(part))))
        lps = posteriors(model, [part.features[i] for i in picks])
        examples = [Example(data.scaler.inverse(part.features[i]), lp, part.texts[i],
                            data.alphabet.decode(greedy_decode(lp)),
                            f"{Path(part.names[i]).name} (speaker {part.speakers[i] or 'unknown'})")
                    for i, lp in zip(picks, lps, strict=True)]
        plots = [plot_alignments(examples, data.alphabet, data.cfg.subsample, data.spec.hop_ms,
                                 out / "plots" / f"alignment_{split}.png")]
        if data.corpus is not None and data.cfg.examples and split == "test":
            folder = self._write_examples(data.corpus, data.cfg.examples, data.spec.sample_rate, out / "examples")
            first = sorted(folder.glob("*.wav"))[0]
            print(f"examples: {data.cfg.examples} test utterances in {folder} (try: rnnkit predict --checkpoint "
                  f"{out} --input {first})")
        return plots

    @staticmethod
    def _write_examples(corpus: CorpusSpec, count: int, sample_rate: int, folder: Path) -> Path:
        """The first test utterance of each test voice, then the second ones..., as WAV + transcripts.tsv."""
        by_voice: dict[str, list] = {}
        for r in recipes(corpus, "test"):
            by_voice.setdefault(r.variant, []).append(r)
        chosen = [rs[k] for k in range(count) for rs in by_voice.values() if k < len(rs)][:count]
        lines = ["file\ttext\tspeaker"]
        for r in chosen:
            write_wav(folder / f"{r.name}.wav", render(r, sample_rate), sample_rate)
            lines.append(f"{r.name}.wav\t{r.text}\t{r.variant}")
        (folder / TRANSCRIPTS).write_text("\n".join(lines) + "\n", encoding="utf-8")
        return folder

    # ---- using a trained model ----------------------------------------------------------------------
    def predict(self, model: nn.Module, meta: dict[str, Any], inputs: list[str]) -> list[dict[str, Any]]:
        """Per audio file: its transcript (prefix beam search of the model's `beam` width) and duration."""
        alphabet, spec = Alphabet(meta["alphabet"]), FeatureSpec(**meta["features"])
        scaler = ChannelScaler.from_state_dict(meta["scaler"])
        hint = PREDICT_HINT.format(rate=spec.sample_rate)
        results = []
        for path in inputs:
            wave = read_audio(path, spec.sample_rate, resample=meta.get("resample", False), min_samples=spec.n_fft,
                              hint=hint)
            lp = posteriors(model, [scaler.transform(log_mel(wave, spec))])[0]
            results.append({"input": path, "text": alphabet.decode(decode(lp, int(meta.get("beam", 1)))),
                            "seconds": round(len(wave) / spec.sample_rate, 3)})
        return results


def _summary(splits: dict[str, Utterances], spec: FeatureSpec, credit: str) -> str:
    def part(name: str) -> str:
        u = splits[name]
        n = len(set(u.speakers))
        who = f"{n} speaker{'s' * (n != 1)}, " if known else ""
        return f"{name} {len(u):,} ({who}{u.seconds(spec.hop_ms) / 60:.0f} min)"

    known = all(splits["train"].speakers)
    unseen = not set(splits["test"].speakers) & set(splits["train"].speakers)
    speakers = ("test speakers unseen in training" if unseen else "test speakers also in training") if known \
        else "speakers unknown"
    return (f"{', '.join(part(n) for n in ('train', 'valid', 'test'))}; {speakers}; {spec.n_mels} log-mel bands "
            f"every {spec.hop_ms:g} ms; {credit}")
