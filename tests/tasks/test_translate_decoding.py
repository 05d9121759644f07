"""translate decoding at the task level: beam search of width 1 is greedy search; batching does not matter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.tasks import get_task
from rnnkit.tasks.translate.model import decode
from rnnkit.training.config import TrainConfig


def small(attention: str, cell: str = "lstm"):
    task = get_task("translate")
    cfg = task.config_class(numbers=300, max_number=999, hidden=16, embed=8, attention=attention, cell=cell,
                            baseline=False)
    data = task.build_data(cfg, TrainConfig(batch_size=16))
    data.meta["beam"] = 1
    torch.manual_seed(0)
    return task, task.build_model(cfg, data.meta), data


@pytest.mark.parametrize("attention, cell", [("general", "lstm"), ("none", "gru"), ("additive", "elman")])
def test_beam_width_one_translates_exactly_like_greedy(attention, cell):
    task, model, data = small(attention, cell)
    greedy_texts, greedy = task.translations(model, data, "test", "greedy")
    beam_texts, beam = task.translations(model, data, "test", "beam")
    assert beam_texts == greedy_texts
    assert [h.ids for h in beam] == [h.ids for h in greedy]
    assert np.allclose([h.score for h in beam], [h.score for h in greedy], atol=1e-5)
    if attention != "none":
        assert all(np.allclose(b.attention, g.attention, atol=1e-6) for b, g in zip(beam, greedy, strict=True))


def test_batch_size_does_not_change_translations():
    _, model, data = small("general")
    ids = data.splits["valid"].src_ids
    one = decode(model, ids, max_length=20, batch_size=1)
    many = decode(model, ids, max_length=20, batch_size=7)
    assert [h.ids for h in one] == [h.ids for h in many]


def test_attention_rows_cover_the_real_source_words_only():
    _, model, data = small("general")
    ids = data.splits["valid"].src_ids
    for src, h in zip(ids, decode(model, ids, max_length=20), strict=True):
        assert h.attention.shape[1] == len(src)
        assert np.allclose(h.attention.sum(1), 1.0, atol=1e-5)
