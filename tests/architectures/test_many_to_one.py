"""Many-to-one: shapes, length-aware pooling, and learning a task that needs memory."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnkit.architectures import CELLS, ManyToOne

LENGTHS = [6, 3, 1, 4]


def _padded(x: torch.Tensor, lengths: list[int], value: float) -> torch.Tensor:
    """x with every padded step overwritten by `value`."""
    mask = torch.arange(x.shape[1]) < torch.tensor(lengths).unsqueeze(1)
    return x.masked_fill(~mask.unsqueeze(-1), value)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_many_to_one_shapes(cell, pooling, bidirectional):
    m = ManyToOne(input_size=3, output_size=5, hidden_size=4, cell=cell, pooling=pooling,
                  bidirectional=bidirectional, num_layers=2)
    assert m(torch.randn(4, 6, 3), LENGTHS).shape == (4, 5)
    assert m.features(torch.randn(4, 6, 3)).shape == (4, 8 if bidirectional else 4)


def test_many_to_one_reads_token_input_through_an_embedding():
    m = ManyToOne(vocab_size=11, embedding_dim=6, output_size=2, hidden_size=4, padding_idx=0)
    assert m(torch.randint(0, 11, (3, 7)), [7, 2, 5]).shape == (3, 2)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooling_ignores_padded_values(cell, pooling, bidirectional):
    m = ManyToOne(input_size=3, output_size=2, hidden_size=4, cell=cell, pooling=pooling, bidirectional=bidirectional)
    x = torch.randn(4, 6, 3)
    a = m(_padded(x, LENGTHS, 0.0), LENGTHS)
    b = m(_padded(x, LENGTHS, 1e3), LENGTHS)
    assert torch.equal(a, b)


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooling_of_a_padded_row_equals_the_unpadded_row_alone(pooling, bidirectional):
    m = ManyToOne(input_size=3, output_size=2, hidden_size=4, pooling=pooling, bidirectional=bidirectional)
    x = torch.randn(4, 6, 3)
    batched = m(x, LENGTHS)
    for b, n in enumerate(LENGTHS):
        assert torch.allclose(batched[b], m(x[b : b + 1, :n])[0], atol=1e-6)


def test_bidirectional_last_pooling_is_forward_last_real_step_and_backward_step_zero():
    m = ManyToOne(input_size=3, output_size=2, hidden_size=4, pooling="last", bidirectional=True, num_layers=2)
    x = torch.randn(4, 6, 3)
    out, _ = m.rnn(x, lengths=LENGTHS)                     # (B, T, 2H)
    feats = m.features(x, LENGTHS)
    for b, n in enumerate(LENGTHS):
        assert torch.allclose(feats[b], torch.cat([out[b, n - 1, :4], out[b, 0, 4:]]))


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_mean_and_max_pooling_of_an_empty_row_are_zero(pooling):
    m = ManyToOne(input_size=3, output_size=2, hidden_size=4, pooling=pooling)
    feats = m.features(torch.randn(2, 5, 3), [5, 0])
    assert torch.equal(feats[1], torch.zeros(4))


def test_max_pooling_takes_the_maximum_over_real_steps_only():
    m = ManyToOne(input_size=3, output_size=2, hidden_size=4, pooling="max")
    x = torch.randn(2, 5, 3)
    out, _ = m.rnn(x, lengths=[5, 2])
    assert torch.allclose(m.features(x, [5, 2])[1], out[1, :2].max(0).values)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_many_to_one_learns_to_recall_the_first_step(cell):
    """Label = sign of the first step's first feature, read after up to 7 distracting steps."""
    gen = torch.Generator().manual_seed(0)

    def batch(n):
        x = torch.randn(n, 8, 2, generator=gen)
        lengths = torch.randint(2, 9, (n,), generator=gen)
        return x, lengths, (x[:, 0, 0] > 0).long()

    m = ManyToOne(input_size=2, output_size=2, hidden_size=16, cell=cell)
    opt = torch.optim.Adam(m.parameters(), lr=2e-2)
    for _ in range(250):
        x, lengths, y = batch(32)
        loss = F.cross_entropy(m(x, lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, lengths, y = batch(500)
    with torch.no_grad():
        accuracy = (m(x, lengths).argmax(-1) == y).float().mean().item()
    assert accuracy > 0.9
