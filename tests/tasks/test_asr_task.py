"""`rnnkit train --task asr --quick` end to end on espeak-ng voices the model never heard, and the corpus.

The tests that synthesise speech need the espeak-ng program: without it they skip here with the reason,
and fail under CI=true, where it must be installed.
"""

from __future__ import annotations

import json
import os
import struct

import jiwer
import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.cli.runs import load_trained
from rnnkit.tasks import get_task
from rnnkit.tasks.asr import espeak
from rnnkit.tasks.asr.corpus import TEST_VARIANTS, TRAIN_VARIANTS, VALID_VARIANTS, CorpusSpec, recipes, render
from rnnkit.training.errors import DataError

FAST = ["--threads", "1", "--no-progress", "--no-tensorboard", "--no-plots"]


def need_espeak() -> None:
    """Skip without espeak-ng - except in CI, where its absence is a failure."""
    if espeak.espeak_binary() is None:
        reason = "espeak-ng is not installed (apt-get install espeak-ng): it synthesises the asr corpus"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must install it")
        pytest.skip(reason)


@pytest.fixture
def espeak_ng():
    need_espeak()


def test_the_voices_of_the_three_splits_are_disjoint():
    train, valid, test = set(TRAIN_VARIANTS), set(VALID_VARIANTS), set(TEST_VARIANTS)
    assert len(train) == len(TRAIN_VARIANTS) == 65 and len(valid) == 4 and len(test) == 8
    assert not train & test and not train & valid and not valid & test
    spec = CorpusSpec(per_voice=3, eval_per_voice=2)
    assert {r.variant for r in recipes(spec, "test")} == test
    assert not {r.variant for r in recipes(spec, "train")} & test


def test_recipes_are_a_function_of_the_seed():
    a, b = recipes(CorpusSpec(per_voice=2), "train"), recipes(CorpusSpec(per_voice=2), "train")
    assert a == b and a != recipes(CorpusSpec(per_voice=2, seed=1), "train")
    assert all(150 <= r.speed <= 220 and 10 <= r.snr <= 40 for r in a)


def test_a_wav_from_a_pipe_with_placeholder_sizes_is_parsed():
    samples = np.array([0, 1000, -1000, 32767], dtype="<i2")
    header = (b"RIFF" + struct.pack("<I", 0x7FFFF000) + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 22050,
              44100, 2, 16) + b"data" + struct.pack("<I", 0x7FFFF000))
    wave, rate = espeak.parse_wav(header + samples.tobytes(), "pipe")
    assert rate == 22050 and np.allclose(wave, samples / 32768)


def test_without_espeak_the_default_corpus_is_one_line_naming_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(espeak, "espeak_binary", lambda: None)
    assert main(["train", "--task", "asr", "--quick", "--out", str(tmp_path / "run"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnkit: error: espeak-ng not found") and "apt-get install espeak-ng" in err
    assert "\n" not in err


def test_espeak_synthesis_is_deterministic(espeak_ng):
    r = recipes(CorpusSpec(per_voice=1), "train")[0]
    a, b = render(r, 16000), render(r, 16000)
    assert np.array_equal(a, b) and len(a) > 16000 * 0.5
    assert np.abs(a).max() == pytest.approx(10 ** (r.peak_db / 20), rel=1e-3)


def test_espeak_failure_names_the_voice(espeak_ng):
    with pytest.raises(DataError, match=r"espeak-ng failed for voice 'xx\+nobody' on 'one'"):
        espeak.synthesize("one", "xx+nobody", 170, 50)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    need_espeak()
    out = tmp_path_factory.mktemp("asr") / "quick"
    assert main(["train", "--task", "asr", "--quick", "--out", str(out), *FAST]) == 0
    return out


@pytest.mark.slow
def test_quick_run_on_unseen_voices_beats_both_baselines_by_far(run):
    m = json.loads((run / "metrics.json").read_text())
    assert m["task"] == "asr" and m["primary"] == "wer" and m["higher_is_better"] is False
    model, mlp, constant = m["model"], m["baselines"]["frame_mlp_ctc"], m["baselines"]["constant"]
    assert model["cer"] < 0.2 and model["cer"] < 0.5 * constant["cer"] and model["cer"] < 0.5 * mlp["cer"]
    assert model["wer"] < min(mlp["wer"], constant["wer"])
    assert model["cer_beam"] <= model["cer"] + 0.02


@pytest.mark.slow
def test_report_plots_the_alignment_and_predict_transcribes_the_example_wavs(run, capsys):
    t = load_trained(run, "cpu")
    data = t.task.build_data(t.task_cfg, t.train_cfg.replace(progress=False), meta=t.meta)
    t.task.report(t.model, data, "test", run)
    assert (run / "plots" / "alignment_test.png").stat().st_size > 20_000
    lines = (run / "examples" / "transcripts.tsv").read_text().splitlines()[1:]
    assert len(lines) == 2
    wav, text, _ = lines[0].split("\t")
    assert main(["predict", "--checkpoint", str(run), "--input", str(run / "examples" / wav)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["input"].endswith(wav) and result["seconds"] > 0.5
    assert jiwer.cer(text, result["text"]) < 0.5


def test_predict_refuses_a_wav_at_another_rate_and_says_how_to_fix_it(tmp_path):
    import soundfile

    task = get_task("asr")
    cfg = task.config_class(hidden=8, layers=1, dropout=0.0)
    meta = {"alphabet": cfg.alphabet, "features": cfg.feature_spec().to_dict(),
            "scaler": {"mean": [0.0] * 40, "std": [1.0] * 40}, "resample": False, "beam": 1}
    soundfile.write(tmp_path / "phone.wav", np.sin(np.arange(8000) / 5) * 0.3, 8000)
    with pytest.raises(DataError, match=r"phone\.wav: sample rate 8000 Hz, expected 16000 Hz \(convert it, e\.g\. sox"):
        task.predict(task.build_model(cfg, meta), meta, [str(tmp_path / "phone.wav")])
