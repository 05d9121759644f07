"""One-to-many: a single vector conditions a recurrent decoder that emits a token sequence.

The classic use is image captioning (Vinyals et al., 2015; Karpathy & Fei-Fei, 2015): image features
in, a sentence out. The vector reaches the decoder in one of two ways, or both:
    "init":  it sets the initial state, h_0 = tanh(W_h v + b_h) in every layer (and c_0 = W_c v + b_c
             for an LSTM), so the decoder starts out "thinking about" the image;
    "input": it is concatenated to the token embedding at every step, so it cannot be forgotten.
Training is teacher-forced (optionally with scheduled sampling); generation is greedy or beam search
with a maximum length and an end token, through the same `decoding` code as seq2seq.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from rnnkit import validation as V
from rnnkit.architectures.config import (
    RecurrentConfig,
    check_choice,
    check_int,
    check_probability,
    check_token,
    resolve_config,
)
from rnnkit.architectures.decoding import Decoded, beam_search, greedy_search, scheduled_sampling
from rnnkit.architectures.factory import State, rnn_from_config, select_rows
from rnnkit.architectures.inputs import check_tokens, lengths_tensor

CONDITIONS = ("init", "input", "both")


@dataclass(kw_only=True)
class OneToManyConfig(RecurrentConfig):
    """A conditioned decoder: vector -> (initial state and/or per-step input) -> tokens."""

    feature_size: int                 # size of the conditioning vector (e.g. pooled CNN image features)
    vocab_size: int                   # output tokens, also embedded as the next step's input
    embedding_dim: int = 32           # token embedding width
    condition: str = "init"           # "init" | "input" | "both" (see the module docstring)
    sampling_prob: float = 0.0        # scheduled sampling during training: 0 is pure teacher forcing
    start_token: int = 1              # first input token of every generated sequence
    end_token: int = 2                # generation of a row stops after it emits this token
    pad_token: int = 0                # emitted after the end token; its embedding stays zero

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("feature_size", self.feature_size)
        check_int("vocab_size", self.vocab_size)
        check_int("embedding_dim", self.embedding_dim)
        check_choice("condition", self.condition, CONDITIONS)
        check_probability("sampling_prob", self.sampling_prob)
        for name in ("start_token", "end_token", "pad_token"):
            check_token(name, getattr(self, name), self.vocab_size)


class CaptionState(NamedTuple):
    """Decoder state between steps: the recurrent state and the conditioning vector (or None)."""

    rnn: State                 # (L, B, H), or a pair of them for an LSTM
    features: Tensor | None    # (B, F) when fed at every step


class OneToMany(nn.Module):
    """Vector (B, F) -> token logits (B, T, V) under teacher forcing, or generated tokens."""

    def __init__(self, config: OneToManyConfig | None = None, **fields) -> None:
        super().__init__()
        self.config = config = resolve_config(OneToManyConfig, config, fields)
        self.feed_input = config.condition in ("input", "both")
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_token)
        step_in = config.embedding_dim + (config.feature_size if self.feed_input else 0)
        self.rnn = rnn_from_config(config, step_in)
        L, H, P = config.num_layers, self.rnn.hidden_size, self.rnn.output_size
        self.init_h = self.init_c = None
        if config.condition in ("init", "both"):
            self.init_h = nn.Linear(config.feature_size, L * P)
            self.init_c = nn.Linear(config.feature_size, L * H) if config.cell == "lstm" else None
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(P, config.vocab_size)

    def initial_state(self, features: Tensor) -> CaptionState:
        """The decoder state before the first token, from features (B, F)."""
        V.check_tensor("features", features)
        V.check_rank("features", features, (2,), "(batch, feature_size)")
        if features.shape[1] != self.config.feature_size:
            raise ValueError(f"features must have feature_size={self.config.feature_size} columns, "
                             f"got shape {tuple(features.shape)}")
        rnn_state = None   # zeros
        if self.init_h is not None:
            B, L = features.shape[0], self.config.num_layers
            h = torch.tanh(self.init_h(features)).view(B, L, -1).transpose(0, 1).contiguous()   # (L, B, P)
            if self.init_c is not None:
                c = self.init_c(features).view(B, L, -1).transpose(0, 1).contiguous()          # (L, B, H)
                rnn_state = (h, c)
            else:
                rnn_state = h
        return CaptionState(rnn_state, features if self.feed_input else None)

    def forward(self, features: Tensor, tokens: Tensor, lengths: Tensor | list[int] | None = None,
                sampling_prob: float | None = None) -> Tensor:
        """Teacher-forced logits: features (B, F), input tokens (B, T) = [start, y_1, ...] -> (B, T, V).

        sampling_prob: None uses the config's value in training mode and 0 in eval mode.
        """
        check_tokens("tokens", tokens, self.config.vocab_size, rank=2, layout="(batch, seq) of token ids")
        state = self.initial_state(features)
        p = (self.config.sampling_prob if self.training else 0.0) if sampling_prob is None else sampling_prob
        if p > 0:
            with self.rnn.recurrent_dropout_scope():   # one recurrent-dropout mask per caption, step by step
                return scheduled_sampling(self, state, tokens, p)[0]
        e = self.embedding(tokens)                                            # (B, T, E)
        if self.feed_input:
            e = torch.cat([e, features.unsqueeze(1).expand(-1, e.shape[1], -1)], -1)   # (B, T, E+F)
        out, _ = self.rnn(e, state.rnn, lengths=lengths_tensor(lengths, e))   # (B, T, H)
        return self.head(self.drop(out))                                      # (B, T, V)

    def decode_step(self, tokens: Tensor, state: CaptionState) -> tuple[Tensor, CaptionState, None]:
        """One step: tokens (N,) -> logits (N, V), next state, no attention."""
        x = self.embedding(tokens)                                            # (N, E)
        if state.features is not None:
            x = torch.cat([x, state.features], -1)                            # (N, E+F)
        y, rnn_state = self.rnn.step(x, state.rnn)                            # (N, H)
        return self.head(self.drop(y)), CaptionState(rnn_state, state.features), None

    def reorder_state(self, state: CaptionState, index: Tensor) -> CaptionState:
        """The decoder state of batch rows `index` (beam search follows its beams with this)."""
        rnn = None if state.rnn is None else select_rows(state.rnn, index)
        feats = None if state.features is None else state.features.index_select(0, index)
        return CaptionState(rnn, feats)

    @torch.no_grad()
    def generate(self, features: Tensor, *, max_length: int = 20, beam_width: int = 1,
                 length_norm: float = 0.0) -> Decoded:
        """Token sequences for features (B, F): greedy when beam_width == 1, else beam search.

        Call `.eval()` first if the model has dropout.
        """
        check_int("beam_width", beam_width)
        c = self.config
        state = self.initial_state(features)
        start = torch.full((features.shape[0],), c.start_token, dtype=torch.long, device=features.device)
        if beam_width == 1:
            return greedy_search(self, state, start, max_length=max_length, end_token=c.end_token,
                                 pad_token=c.pad_token)
        return beam_search(self, state, start, beam_width=beam_width, max_length=max_length,
                           end_token=c.end_token, pad_token=c.pad_token, length_norm=length_norm)
