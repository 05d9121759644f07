"""Attention: weights form a distribution over real source positions only."""

from __future__ import annotations

import pytest
import torch

from rnnkit.architectures import Attention

KINDS = ["dot", "general", "additive"]
MASK = torch.tensor([[True] * 6, [True, True, True, False, False, False], [True] + [False] * 5])


def _attention(kind: str) -> Attention:
    return Attention(kind, 8, 8 if kind == "dot" else 10, attention_size=5)


@pytest.mark.parametrize("kind", KINDS)
def test_attention_weights_sum_to_one_and_are_zero_on_padded_positions(kind):
    att = _attention(kind)
    memory = torch.randn(3, 6, 8 if kind == "dot" else 10)
    context, weights = att(torch.randn(3, 8), memory, MASK)
    assert context.shape == (3, memory.shape[-1]) and weights.shape == (3, 6)
    assert torch.allclose(weights.sum(-1), torch.ones(3))
    assert torch.equal(weights[~MASK], torch.zeros(int((~MASK).sum())))
    assert torch.allclose(context, torch.einsum("bs,bsk->bk", weights, memory), atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_attention_over_many_queries_equals_one_query_at_a_time(kind):
    att = _attention(kind)
    memory, queries = torch.randn(3, 6, 8 if kind == "dot" else 10), torch.randn(3, 4, 8)
    context, weights = att(queries, memory, MASK)
    assert weights.shape == (3, 4, 6)
    for t in range(4):
        c, w = att(queries[:, t], memory, MASK, keys=att.keys(memory))
        assert torch.allclose(c, context[:, t], atol=1e-6) and torch.allclose(w, weights[:, t], atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_attention_padded_memory_values_do_not_matter(kind):
    att = _attention(kind)
    memory = torch.randn(3, 6, 8 if kind == "dot" else 10)
    other = memory.masked_fill(~MASK.unsqueeze(-1), 1e4)
    q = torch.randn(3, 8)
    assert torch.equal(att(q, memory, MASK)[0], att(q, other, MASK)[0])


def test_attention_with_no_real_position_gives_zeros_and_finite_gradients():
    att = _attention("additive")
    memory = torch.randn(2, 4, 10, requires_grad=True)
    mask = torch.tensor([[True, True, False, False], [False] * 4])
    context, weights = att(torch.randn(2, 8), memory, mask)
    assert torch.equal(weights[1], torch.zeros(4)) and torch.equal(context[1], torch.zeros(10))
    context.sum().backward()
    assert torch.isfinite(memory.grad).all()
