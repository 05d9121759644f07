"""Encoder-decoder (seq2seq): read a source sequence, then emit a target sequence of another length.

    Encoder: a recurrent layer (optionally bidirectional) reads the source; its per-step outputs are
             the "memory" attention looks at, its final states summarise the source.
    Bridge:  maps the encoder's final states to the decoder's initial states (Cho et al., 2014;
             Bahdanau et al., 2015 use tanh(W h) of the backward encoder's state); a bidirectional
             encoder's two directions are concatenated per layer first.
    Decoder: a unidirectional recurrent layer over the previous target token. Without attention the
             logits are W_out h_t (Sutskever et al., 2014). With attention the current state h_t
             queries the memory (Luong et al., 2015's placement, for every score function):
                 c_t, a_t = attention(h_t, memory)      context and weights over real source steps
                 o_t = tanh(W_c [c_t; h_t])             attentional state
                 logits_t = W_out o_t
Training is teacher-forced, with optional scheduled sampling; generation is greedy or beam search
(`decoding`). Attention weights come back with the logits and the generated tokens, for plotting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from rnnkit.architectures.attention import ATTENTIONS, Attention
from rnnkit.architectures.config import (
    RecurrentConfig,
    check_bool,
    check_choice,
    check_exactly_one,
    check_int,
    check_optional_int,
    check_probability,
    check_token,
    resolve_config,
)
from rnnkit.architectures.decoding import Decoded, beam_search, greedy_search, scheduled_sampling
from rnnkit.architectures.factory import State, hidden_of, rnn_from_config, select_rows
from rnnkit.architectures.inputs import SequenceInput, check_tokens, lengths_tensor, step_mask

BRIDGES = ("linear", "copy", "zeros")


@dataclass(kw_only=True)
class Seq2SeqConfig(RecurrentConfig):
    """Encoder and decoder share cell, hidden_size and num_layers; the encoder may be bidirectional."""

    tgt_vocab_size: int                 # target tokens (decoder input and output)
    src_vocab_size: int | None = None   # source tokens (B, S) through an embedding; or
    input_size: int | None = None       # source features (B, S, I)
    embedding_dim: int = 32             # width of the source and target embeddings
    bidirectional: bool = False         # bidirectional encoder (the decoder is always left to right)
    attention: str | None = None        # None | "dot" | "general" | "additive" (see `attention`)
    attention_size: int | None = None   # hidden width of "additive" scores; None: hidden_size
    bridge: str = "linear"              # "linear" (tanh(W h), W c) | "copy" (same sizes) | "zeros" (no bridge)
    sampling_prob: float = 0.0          # scheduled sampling during training: 0 is pure teacher forcing
    start_token: int = 1                # first decoder input of every target sequence
    end_token: int = 2                  # generation of a row stops after it emits this token
    pad_token: int = 0                  # target padding; emitted after the end token

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("tgt_vocab_size", self.tgt_vocab_size)
        check_exactly_one(("src_vocab_size", "input_size"), (self.src_vocab_size, self.input_size))
        check_optional_int("src_vocab_size", self.src_vocab_size)
        check_optional_int("input_size", self.input_size)
        check_int("embedding_dim", self.embedding_dim)
        check_bool("bidirectional", self.bidirectional)
        check_choice("attention", self.attention, (None, *ATTENTIONS))
        check_optional_int("attention_size", self.attention_size)
        check_choice("bridge", self.bridge, BRIDGES)
        check_probability("sampling_prob", self.sampling_prob)
        for name in ("start_token", "end_token", "pad_token"):
            check_token(name, getattr(self, name), self.tgt_vocab_size)
        if self.bidirectional and self.bridge == "copy":
            raise ValueError("bridge='copy' needs encoder and decoder states of the same size, but a bidirectional "
                             "encoder has two directions per layer; use bridge='linear' or 'zeros'")
        if self.bidirectional and self.attention == "dot":
            raise ValueError("attention='dot' needs the encoder outputs (2 * hidden_size with bidirectional=True) "
                             "to match the decoder state (hidden_size); use 'general' or 'additive'")


class Seq2SeqOutput(NamedTuple):
    """Teacher-forced decoder output."""

    logits: Tensor              # (B, T, V)
    attention: Tensor | None    # (B, T, S) weights over source steps, None without attention


class DecoderState(NamedTuple):
    """Everything the decoder carries from one step to the next."""

    rnn: State | None           # (L, B, H) decoder state (a pair for an LSTM); None means zeros
    memory: Tensor              # (B, S, D*H) encoder outputs
    keys: Tensor | None         # (B, S, A) the memory's precomputed part of the attention score
    mask: Tensor                # (B, S) True at real source steps


class Encoder(nn.Module):
    """Source (B, S) tokens or (B, S, I) features -> memory (B, S, D*H), final states, mask (B, S)."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.input = SequenceInput(config.src_vocab_size, config.embedding_dim, config.input_size)
        self.rnn = rnn_from_config(config, self.input.output_size, config.bidirectional)

    def forward(self, src: Tensor, lengths: Tensor | list[int] | None = None) -> tuple[Tensor, State, Tensor]:
        e = self.input(src)                                   # (B, S, E)
        lengths = lengths_tensor(lengths, e)
        memory, state = self.rnn(e, lengths=lengths)          # (B, S, D*H), zero at padded steps
        return memory, state, step_mask(lengths, e)


class Bridge(nn.Module):
    """Encoder final states (L*D, B, ·) -> decoder initial states (L, B, ·), or None for zeros."""

    def __init__(self, mode: str, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.mode, self.D = mode, encoder.num_directions
        self.is_lstm = encoder.mode == "lstm"
        if mode == "linear":
            self.h = nn.Linear(self.D * encoder.output_size, decoder.output_size)
            self.c = nn.Linear(self.D * encoder.hidden_size, decoder.hidden_size) if self.is_lstm else None

    def forward(self, state: State) -> State | None:
        if self.mode == "zeros":
            return None
        if self.mode == "copy":
            return state
        h = torch.tanh(self.h(self._per_layer(hidden_of(state))))   # (L, B, H)
        return (h, self.c(self._per_layer(state[1]))) if self.is_lstm else h

    def _per_layer(self, s: Tensor) -> Tensor:
        """(L*D, B, X) -> (L, B, D*X): each layer's directions side by side."""
        LD, B, X = s.shape
        return s.view(LD // self.D, self.D, B, X).permute(0, 2, 1, 3).reshape(LD // self.D, B, self.D * X)


class Seq2Seq(nn.Module):
    """Encoder-decoder with optional attention; see the module docstring.

    Parts: `encoder` (Encoder), `bridge` (Bridge), `embedding` (target tokens), `decoder` (the decoder's
    recurrent layer), `attention` and `combine` (W_c) when attention is on, `head` (W_out).
    """

    def __init__(self, config: Seq2SeqConfig | None = None, **fields) -> None:
        super().__init__()
        self.config = c = resolve_config(Seq2SeqConfig, config, fields)
        self.encoder = Encoder(c)
        self.embedding = nn.Embedding(c.tgt_vocab_size, c.embedding_dim, padding_idx=c.pad_token)
        self.decoder = rnn_from_config(c, c.embedding_dim)
        self.bridge = Bridge(c.bridge, self.encoder.rnn, self.decoder)
        P, M = self.decoder.output_size, self.encoder.rnn.output_size * self.encoder.rnn.num_directions
        self.attention = Attention(c.attention, P, M, c.attention_size) if c.attention else None
        self.combine = nn.Linear(M + P, P) if c.attention else None
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(P, c.tgt_vocab_size)

    def encode(self, src: Tensor, src_lengths: Tensor | list[int] | None = None) -> DecoderState:
        """Read the source; the returned state starts the decoder."""
        memory, state, mask = self.encoder(src, src_lengths)
        keys = self.attention.keys(memory) if self.attention is not None else None
        return DecoderState(self.bridge(state), memory, keys, mask)

    def forward(self, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | list[int] | None = None,
                sampling_prob: float | None = None) -> Seq2SeqOutput:
        """Teacher-forced logits. src (B, S) or (B, S, I); tgt_in (B, T) = [start, y_1, ..., y_{T-1}].

        sampling_prob: None uses the config's value in training mode and 0 in eval mode; with p > 0
        the decoder runs step by step (`decoding.scheduled_sampling`).
        """
        check_tokens("tgt_in", tgt_in, self.config.tgt_vocab_size, rank=2, layout="(batch, seq) of token ids")
        if tgt_in.shape[0] != src.shape[0]:
            raise ValueError(f"src and tgt_in must have the same batch size, got {src.shape[0]} and {tgt_in.shape[0]}")
        st = self.encode(src, src_lengths)
        p = (self.config.sampling_prob if self.training else 0.0) if sampling_prob is None else sampling_prob
        if p > 0:
            with self.decoder.recurrent_dropout_scope():   # one recurrent-dropout mask per sentence, step by step
                return Seq2SeqOutput(*scheduled_sampling(self, st, tgt_in, p))
        out, _ = self.decoder(self.embedding(tgt_in), st.rnn)          # (B, T, H)
        return Seq2SeqOutput(*self._output(out, st))

    def _output(self, h: Tensor, st: DecoderState) -> tuple[Tensor, Tensor | None]:
        """Decoder states (B, T, H) or (B, H) -> logits (B, [T,] V) and attention weights (B, [T,] S)."""
        if self.attention is None:
            return self.head(self.drop(h)), None
        context, weights = self.attention(h, st.memory, st.mask, st.keys)    # (B, [T,] M), (B, [T,] S)
        o = torch.tanh(self.combine(torch.cat([context, h], -1)))           # (B, [T,] H)
        return self.head(self.drop(o)), weights

    def decode_step(self, tokens: Tensor, st: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One step: tokens (N,) -> logits (N, V), next state, attention weights (N, S) or None."""
        h, rnn = self.decoder.step(self.embedding(tokens), st.rnn)         # (N, H)
        logits, weights = self._output(h, st)
        return logits, st._replace(rnn=rnn), weights

    def reorder_state(self, st: DecoderState, index: Tensor) -> DecoderState:
        """The decoder state of batch rows `index` (beam search follows its beams with this)."""
        pick = lambda t: None if t is None else t.index_select(0, index)  # noqa: E731
        rnn = None if st.rnn is None else select_rows(st.rnn, index)
        return DecoderState(rnn, pick(st.memory), pick(st.keys), pick(st.mask))

    @torch.no_grad()
    def generate(self, src: Tensor, src_lengths: Tensor | list[int] | None = None, *, max_length: int = 50,
                 beam_width: int = 1, length_norm: float = 0.0) -> Decoded:
        """Target tokens for each source row: greedy when beam_width == 1, else beam search.

        The result's `attention` (B, T, S) holds the weights behind each emitted token. Call `.eval()`
        first if the model has dropout.
        """
        check_int("beam_width", beam_width)
        c = self.config
        st = self.encode(src, src_lengths)
        start = torch.full((src.shape[0],), c.start_token, dtype=torch.long, device=st.memory.device)
        if beam_width == 1:
            return greedy_search(self, st, start, max_length=max_length, end_token=c.end_token, pad_token=c.pad_token)
        return beam_search(self, st, start, beam_width=beam_width, max_length=max_length, end_token=c.end_token,
                           pad_token=c.pad_token, length_norm=length_norm)
