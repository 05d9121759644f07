"""seqclass pieces: train-only normalisation, length-aware batching, 1-NN baselines and metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.tasks.seqclass.baselines import dtw_distances, euclidean_distances, nearest_neighbour, resample
from rnnkit.tasks.seqclass.batches import SeriesBatches, pad
from rnnkit.tasks.seqclass.data import stratified_split
from rnnkit.tasks.seqclass.metrics import accuracy, confusion_matrix, macro_f1
from rnnkit.tasks.seqclass.model import build_model, predict_proba


def dtw_by_hand(a, b):
    d = np.full((len(a) + 1, len(b) + 1), np.inf)
    d[0, 0] = 0
    for i in range(len(a)):
        for j in range(len(b)):
            d[i + 1, j + 1] = ((a[i] - b[j]) ** 2).sum() + min(d[i, j + 1], d[i + 1, j], d[i, j])
    return d[-1, -1]


def test_dtw_matches_the_textbook_recursion_for_unequal_lengths():
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(int(rng.integers(1, 7)), 3)) for _ in range(6)]
    got = dtw_distances(xs[:4], xs, chunk=3)
    want = [[dtw_by_hand(a, b) for b in xs] for a in xs[:4]]
    assert np.allclose(got, want)
    assert np.allclose(np.diag(got), 0)


def test_dtw_absorbs_a_time_warp_that_euclidean_does_not():
    base = np.sin(np.linspace(0, 3, 20))[:, None]
    warped = np.sin(np.linspace(0, 3, 20) ** 1.3 / 3 ** 0.3)[:, None]
    assert dtw_distances([warped], [base])[0, 0] < euclidean_distances([warped], [base], 20)[0, 0] / 3


def test_resample_keeps_end_points_and_one_nn_picks_the_closest():
    r = resample([np.array([[0.0], [1.0]])], 5)
    assert r[0, :, 0].tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert nearest_neighbour(np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 0.0]]), np.array([7, 8, 9])).tolist() == [8, 7]


def test_padding_never_changes_a_prediction():
    torch.manual_seed(0)
    model = build_model(2, 3, cell="lstm", hidden_size=8, num_layers=1, bidirectional=True, pooling="mean",
                        dropout=0.0)
    rng = np.random.default_rng(0)
    short, long = rng.normal(size=(4, 2)).astype(np.float32), rng.normal(size=(11, 2)).astype(np.float32)
    alone = predict_proba(model, [short])
    together = predict_proba(model, [short, long])
    assert np.allclose(alone[0], together[0], atol=1e-6)


def test_batches_pad_with_lengths_and_repeat_per_epoch():
    x, lengths = pad([np.ones((2, 1)), np.ones((4, 1))])
    assert x.shape == (2, 4, 1) and lengths.tolist() == [2, 4] and x[0, 2:].abs().sum() == 0
    series = [np.full((i + 1, 1), float(i)) for i in range(10)]
    source = SeriesBatches(series, np.arange(10), 4, seed=3)
    first = [b.labels.tolist() for b in source.epoch(0)]
    assert len(source) == 3 and first == [b.labels.tolist() for b in source.epoch(0)]
    assert first != [b.labels.tolist() for b in source.epoch(1)]
    assert [b.labels.tolist() for b in source.epoch(0, start=1)] == first[1:]        # resuming mid-epoch


def test_stratified_split_holds_out_each_class_and_keeps_one():
    labels = np.array([0] * 10 + [1] * 3 + [2])
    keep, held = stratified_split(labels, 0.3, 0)
    assert np.bincount(labels[held], minlength=3).tolist() == [3, 1, 0]
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(14))


def test_metrics_by_hand():
    true, pred = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2])
    assert accuracy(true, pred) == 0.75
    assert confusion_matrix(true, pred, 3).tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    # F1: class 0: 2*1/(2+0+1) = 2/3; class 1: 2/(2+1+0) = 2/3; class 2: 1
    assert macro_f1(true, pred, 3) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
