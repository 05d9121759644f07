"""The task registry, the charlm data pipeline and model, and the n-gram baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit.tasks import get_task, register, task_names
from rnnkit.tasks.charlm import CharLMConfig, encode
from rnnkit.tasks.ngram import KneserNey, Unigram
from rnnkit.tasks.textfiles import shakespeare_files
from rnnkit.training import ConfigError, DataError, TrainConfig

TEXT = (shakespeare_files(("macbeth",))[0].read_text(encoding="utf-8"))[:30_000]


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(TEXT[:18_000], encoding="utf-8")
    (folder / "b.txt").write_text(TEXT[18_000:], encoding="utf-8")
    return folder


def test_registry_lists_builds_and_extends(monkeypatch):
    import rnnkit.tasks

    monkeypatch.setattr(rnnkit.tasks, "_registry", dict(rnnkit.tasks._registry))
    assert "charlm" in task_names()
    task = get_task("charlm")
    assert task.primary == "bpc" and task.higher_is_better is False
    with pytest.raises(ConfigError, match=r"unknown task 'nope'; available tasks: .*charlm"):
        get_task("nope")
    register("charlm_alias", "rnnkit.tasks.charlm:CharLM")
    assert get_task("charlm_alias").name == "charlm"


def test_charlm_data_model_and_baselines_predict_the_same_characters(corpus):
    task = get_task("charlm")
    cfg = CharLMConfig(data=str(corpus), hidden=16, embed=8, eval_rows=4)
    data = task.build_data(cfg, TrainConfig(k1=16, batch_size=4))
    assert data.summary.startswith("2 file(s), 30,000 characters")
    test = data.splits["test"]
    assert test.stream.targets == sum(len(d) - 1 for d in test.docs)       # each document's first is skipped
    assert test.stream.reset is not None                                  # the second document resets rows
    base = task.baselines(data, "test")
    assert base["uniform"]["bpc"] == pytest.approx(math.log2(len(data.meta["vocab"])))
    assert base["kneser_ney_5gram"]["bpc"] < base["unigram"]["bpc"] < base["uniform"]["bpc"]
    model = task.build_model(cfg, data.meta)
    assert task.evaluate(model, data, "test")["bpc"] == pytest.approx(base["uniform"]["bpc"], abs=0.3)
    full = task.build_data(cfg, TrainConfig(bptt="full", batch_size=4))
    assert full.train.steps == cfg.seq_len and not task.stepper(cfg, TrainConfig(bptt="full")).stateful


def test_generate_and_predict_use_only_the_vocabulary():
    task = get_task("charlm")
    cfg = CharLMConfig(hidden=8, embed=4)
    meta = {"vocab": "".join(sorted(set(TEXT)))}
    model = task.build_model(cfg, meta)
    greedy = task.generate(model, meta, "MACBETH", 30, temperature=0)
    assert greedy == task.generate(model, meta, "MACBETH", 30, temperature=0, seed=5)
    assert set(task.generate(model, meta, "", 50, temperature=1.5, top_k=3)) <= set(meta["vocab"])
    with pytest.raises(DataError, match="the prompt: 1 character"):
        task.generate(model, meta, "Ωx", 5)
    [res] = task.predict(model, meta, ["Fair is foul"])
    assert res["bpc"] > 0 and len(res["next"]) == 5


def test_encode_and_corpus_errors(tmp_path):
    assert encode("abca", "abc", "x").tolist() == [0, 1, 2, 0]
    with pytest.raises(DataError, match=r"x: 2 character\(s\) outside the model's vocabulary, e.g. 'd', 'é'"):
        encode("abdé", "abc", "x")
    with pytest.raises(DataError, match="unknown Shakespeare work 'hamlett'"):
        shakespeare_files(("hamlett",))
    with pytest.raises(ConfigError, match="cannot be combined with --data"):
        CharLMConfig(data="x.txt", works="hamlet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"holds no \*\.txt files"):
        get_task("charlm").build_data(CharLMConfig(data=str(tmp_path / "empty")), TrainConfig())


def test_ngram_models_are_normalised_over_the_vocabulary():
    vocab = "".join(sorted(set(TEXT)))
    ids = encode(TEXT, vocab, "t")
    docs = [ids[:20_000], ids[20_000:]]
    for order in (1, 2, 3, 5):
        kn = KneserNey(order, len(vocab)).fit(docs)
        for ctx in (ids[100:104], ids[5000:5004], [0, 1, 2, 3], []):
            p = kn.distribution(ctx)
            assert p.min() > 0 and p.sum() == pytest.approx(1.0, abs=1e-12)
    u = Unigram(len(vocab)).fit(docs)
    assert np.exp2(u.logp).sum() == pytest.approx(1.0)
    lp = KneserNey(5, len(vocab)).fit([ids[:25_000]]).log2prob([ids[25_000:]])[0]
    assert -lp.mean() < -u.log2prob([ids[25_000:]])[0].mean()
