"""Attention over encoder outputs: a query scores every source position, softmax turns the scores
into weights, and the context is the weighted average of the encoder outputs ("memory").

Scores (q: a decoder state, k_s: the memory at source position s):
    "dot"      (Luong et al., 2015):   score(q, k_s) = q . k_s
    "general"  (Luong et al., 2015):   score(q, k_s) = q . (W k_s)
    "additive" (Bahdanau et al., 2015): score(q, k_s) = v . tanh(W_q q + W_k k_s)
    a_s = softmax_s(score) over real source positions only;  context = sum_s a_s k_s

Padded source positions get weight exactly 0 and a row with no real position gets a zero context
(instead of the NaN a softmax over nothing would give). "dot" needs the query and memory sizes to
match; `Attention` raises a ValueError otherwise and suggests "general".
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.architectures.config import check_choice, check_int, check_optional_int

ATTENTIONS = ("dot", "general", "additive")


class Attention(nn.Module):
    """Score a query (B, Q) or queries (B, T, Q) against memory (B, S, K); return context and weights."""

    def __init__(self, kind: str, query_size: int, memory_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        check_choice("attention", kind, ATTENTIONS)
        check_int("query_size", query_size)
        check_int("memory_size", memory_size)
        check_optional_int("attention_size", attention_size)
        if kind == "dot" and query_size != memory_size:
            raise ValueError(f"attention='dot' needs the decoder state size ({query_size}) to equal the encoder "
                             f"output size ({memory_size}); use 'general' or 'additive' for different sizes")
        self.kind = kind
        if kind == "general":
            self.key = nn.Linear(memory_size, query_size, bias=False)      # W
        elif kind == "additive":
            size = attention_size or query_size
            self.key = nn.Linear(memory_size, size, bias=False)            # W_k
            self.query = nn.Linear(query_size, size)                       # W_q (and the bias)
            self.v = nn.Linear(size, 1, bias=False)                        # v

    def keys(self, memory: Tensor) -> Tensor:
        """The memory's part of the score, computed once per source sequence: (B, S, K) -> (B, S, A)."""
        return memory if self.kind == "dot" else self.key(memory)

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor | None = None, keys: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        """query (B, Q) or (B, T, Q); memory (B, S, K); mask (B, S), True at real positions.

        `keys` may be `self.keys(memory)` precomputed (decoding calls this once per step).
        Returns context (B, K) or (B, T, K) and weights (B, S) or (B, T, S), each row summing to 1.
        """
        single = query.dim() == 2
        q = query.unsqueeze(1) if single else query                        # (B, T, Q)
        k = self.keys(memory) if keys is None else keys                    # (B, S, A)
        if self.kind == "additive":
            hidden = torch.tanh(self.query(q).unsqueeze(2) + k.unsqueeze(1))   # (B, T, S, A)
            scores = self.v(hidden).squeeze(-1)                            # (B, T, S)
        else:
            scores = q @ k.transpose(1, 2)                                 # (B, T, S)
        weights = masked_softmax(scores, mask)                             # (B, T, S)
        context = weights @ memory                                         # (B, T, K)
        return (context.squeeze(1), weights.squeeze(1)) if single else (context, weights)


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last dim of scores (B, T, S) with mask (B, S) False positions at weight exactly 0."""
    if mask is None:
        return scores.softmax(-1)
    keep = mask.unsqueeze(1)                                               # (B, 1, S)
    weights = scores.masked_fill(~keep, torch.finfo(scores.dtype).min).softmax(-1)
    return weights.masked_fill(~keep, 0.0)                                 # all-padded rows -> all zeros
