"""Running a token decoder: teacher forcing with scheduled sampling, greedy search and beam search.

One implementation serves every decoder (one-to-many captioning, seq2seq): a model exposes a
`Decoder`, i.e. a function of one step and a way to pick batch rows of its state, and everything
here works on that. Conventions shared by the searches:
    - `start` (B,) holds the first input token of each row; it is not part of the output.
    - a row ends when it emits `end_token` (kept in the output); afterwards it emits `pad_token` at no
      cost, so its score stops changing. Decoding stops at `max_length` tokens or when every row ended.
    - scores are sums of log-probabilities (log_softmax of the logits) of the emitted tokens.

Beam search keeps the `beam_width` best prefixes per row. An ended hypothesis stays in the beam with a
frozen score and competes with the live ones. With `length_norm` = alpha > 0 hypotheses are ranked by
score / length**alpha (Wu et al., 2016 use a smoothed length), which stops the sum of negative
log-probabilities from favouring short outputs; without it the search stops as soon as every row's
best hypothesis has ended, since live ones can only lose score. With beam_width=1 it is greedy
search, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from rnnkit.architectures.config import check_int, check_probability


class Decoder(Protocol):
    """What the searches need from a model: one step, and row selection on its state."""

    def decode_step(self, tokens: Tensor, state: Any) -> tuple[Tensor, Any, Tensor | None]:
        """tokens (N,) -> logits (N, V), the next state, attention weights (N, S) or None."""
        ...

    def reorder_state(self, state: Any, index: Tensor) -> Any:
        """The state of rows `index` (N',) of the batch, in that order."""
        ...


@dataclass
class Decoded:
    """The output of a search, best hypothesis per row."""

    tokens: Tensor                    # (B, T) emitted ids, start excluded; pad_token after the end token
    lengths: Tensor                   # (B,) tokens up to and including the end token (T if it never came)
    scores: Tensor                    # (B,) sum of log-probabilities of those tokens
    attention: Tensor | None = None   # (B, T, S) attention weights behind each token; zero after the end
    beams: Tensor | None = None       # (B, K, T) every final hypothesis, best first (beam search only)
    beam_scores: Tensor | None = None  # (B, K) their ranking scores (length-normalised if asked)


def shift_right(targets: Tensor, start_token: int) -> Tensor:
    """Teacher-forcing inputs for targets (B, T): [start, y_1, ..., y_{T-1}]."""
    start = targets.new_full((targets.shape[0], 1), start_token)
    return torch.cat([start, targets[:, :-1]], dim=1)


def scheduled_sampling(
    decoder: Decoder, state: Any, inputs: Tensor, sampling_prob: float, generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Run the decoder step by step over teacher-forcing inputs (B, T) -> logits (B, T, V), attention or None.

    Scheduled sampling (Bengio et al., 2015): at each step after the first, each row is fed its own
    previous prediction (argmax, no gradient through the choice) with probability `sampling_prob`,
    else the true previous token. sampling_prob=0 is teacher forcing, 1 is free running.
    """
    check_probability("sampling_prob", sampling_prob)
    B, T = inputs.shape
    tokens, logits, attention = inputs[:, 0], [], []
    for t in range(T):
        step_logits, state, attn = decoder.decode_step(tokens, state)     # (B, V)
        logits.append(step_logits)
        attention.append(attn)
        if t + 1 < T:
            own = torch.rand(B, generator=generator, device=inputs.device) < sampling_prob
            tokens = torch.where(own, step_logits.detach().argmax(-1), inputs[:, t + 1])
    attn = torch.stack(attention, 1) if attention[0] is not None else None
    return torch.stack(logits, 1), attn                                   # (B, T, V), (B, T, S)


def _check_search(start: Tensor, max_length: int) -> None:
    if not isinstance(start, Tensor) or start.dim() != 1 or start.dtype != torch.long:
        raise ValueError(f"start must be a (B,) int64 tensor of first input tokens, got {start!r:.80}")
    check_int("max_length", max_length)


@torch.no_grad()
def greedy_search(
    decoder: Decoder, state: Any, start: Tensor, *, max_length: int, end_token: int | None = None,
    pad_token: int = 0,
) -> Decoded:
    """Emit the most likely token at every step (see the module docstring for the conventions)."""
    _check_search(start, max_length)
    tokens, finished = start, torch.zeros_like(start, dtype=torch.bool)
    lengths, scores = torch.zeros_like(start), None
    emitted, attention = [], []
    for _ in range(max_length):
        logits, state, attn = decoder.decode_step(tokens, state)
        logp = logits.log_softmax(-1)                                      # (B, V)
        tok = logp.argmax(-1)                                              # (B,)
        gain = logp.gather(1, tok.unsqueeze(1)).squeeze(1).masked_fill(finished, 0.0)
        scores = gain if scores is None else scores + gain
        tok = tok.masked_fill(finished, pad_token)
        lengths = lengths + (~finished).long()
        emitted.append(tok)
        if attn is not None:
            attention.append(attn.masked_fill(finished.unsqueeze(1), 0.0))
        if end_token is not None:
            finished = finished | (tok == end_token)
        if bool(finished.all()):
            break
        tokens = tok
    attn_out = torch.stack(attention, 1) if attention else None
    return Decoded(torch.stack(emitted, 1), lengths, scores, attn_out)


@torch.no_grad()
def beam_search(
    decoder: Decoder, state: Any, start: Tensor, *, beam_width: int, max_length: int, end_token: int | None = None,
    pad_token: int = 0, length_norm: float = 0.0,
) -> Decoded:
    """Keep the `beam_width` best hypotheses per row; return the best (see the module docstring)."""
    _check_search(start, max_length)
    check_int("beam_width", beam_width)
    if isinstance(length_norm, bool) or not isinstance(length_norm, (int, float)) or length_norm < 0:
        raise ValueError(f"length_norm must be a number >= 0 (0: raw sums of log-probabilities), got {length_norm!r}")
    B, K, dev = start.shape[0], beam_width, start.device
    state = decoder.reorder_state(state, torch.arange(B, device=dev).repeat_interleave(K))  # (B*K, ...)
    tokens = start.repeat_interleave(K)                                    # (B*K,)
    finished = torch.zeros(B, K, dtype=torch.bool, device=dev)
    lengths = torch.zeros(B, K, dtype=torch.long, device=dev)
    history = torch.zeros(B, K, 0, dtype=torch.long, device=dev)           # (B, K, t)
    scores = attn_hist = None
    for _ in range(max_length):
        logits, state, attn = decoder.decode_step(tokens, state)          # (B*K, V)
        V = logits.shape[-1]
        logp = logits.log_softmax(-1).view(B, K, V)
        if scores is None:                                                 # only beam 0 is live at first
            scores = logp.new_zeros(B, K)
            scores[:, 1:] = float("-inf")
        ended = torch.full((V,), float("-inf"), dtype=logp.dtype, device=dev)
        ended[pad_token] = 0.0                                             # an ended beam pads for free
        logp = torch.where(finished.unsqueeze(-1), ended, logp)
        cand = scores.unsqueeze(-1) + logp                                 # (B, K, V)
        new_len = lengths + (~finished).long()                             # (B, K)
        rank = cand / new_len.clamp(min=1).to(cand.dtype).pow(length_norm).unsqueeze(-1) if length_norm else cand
        rank_scores, flat = rank.view(B, K * V).topk(K, dim=1)             # (B, K), best first
        parent, tok = flat // V, flat % V
        scores = cand.view(B, K * V).gather(1, flat)
        lengths = new_len.gather(1, parent)
        was_finished = finished.gather(1, parent)
        finished = was_finished | (tok == end_token) if end_token is not None else was_finished
        history = torch.cat([history.gather(1, parent.unsqueeze(-1).expand_as(history)), tok.unsqueeze(-1)], -1)
        rows = (torch.arange(B, device=dev).unsqueeze(1) * K + parent).view(-1)  # (B*K,) parent row per beam
        state = decoder.reorder_state(state, rows)
        if attn is not None:
            a = attn[rows].view(B, K, 1, -1).masked_fill(was_finished.view(B, K, 1, 1), 0.0)
            prev = (attn_hist.gather(1, parent.view(B, K, 1, 1).expand(B, K, *attn_hist.shape[2:]))
                    if attn_hist is not None else None)
            attn_hist = a if prev is None else torch.cat([prev, a], 2)     # (B, K, t, S)
        tokens = tok.view(-1)
        if bool((finished | scores.isneginf()).all()):
            break
        if not length_norm and bool(finished[:, 0].all()):
            break    # a log-probability is <= 0, so no live beam can overtake an ended best one
    T = int(lengths[:, 0].max())                                           # trim padding shared by every best
    best = attn_hist[:, 0, :T] if attn_hist is not None else None
    return Decoded(history[:, 0, :T], lengths[:, 0], scores[:, 0], best, history, rank_scores)
