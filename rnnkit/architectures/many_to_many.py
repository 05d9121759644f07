"""Many-to-many, aligned: one output per input step (sequence tagging, language modelling).

`ManyToMany` is the tagger: it may read the sequence in both directions, because every tag may
depend on the whole sentence. `LanguageModel` predicts token t+1 from tokens <= t, so it reads
left to right only; it carries its state in and out, so a long text can be processed in chunks
(truncated BPTT: `detach_state` between chunks), and can tie its output weights to its embedding
(Press & Wolf, 2017; Inan et al., 2017), which saves parameters and usually lowers perplexity.

Outputs at padded steps are the head applied to the layer's zero output: meaningless by design,
so losses must skip them (`losses.sequence_cross_entropy` with the same lengths).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnkit.architectures.config import (
    RecurrentConfig,
    check_bool,
    check_exactly_one,
    check_int,
    check_optional_int,
    check_probability,
    resolve_config,
)
from rnnkit.architectures.factory import State, rnn_from_config
from rnnkit.architectures.inputs import SequenceInput, check_tokens, lengths_tensor
from rnnkit.architectures.losses import sequence_cross_entropy


@dataclass(kw_only=True)
class ManyToManyConfig(RecurrentConfig):
    """An aligned tagger: input -> recurrent layer -> linear head at every step."""

    output_size: int                    # tags (logits) or per-step regression targets
    input_size: int | None = None       # features per step, for float input (B, T, I)
    vocab_size: int | None = None       # token input (B, T) through an embedding instead
    embedding_dim: int = 32             # embedding width (token input only)
    padding_idx: int | None = None      # token id whose embedding stays zero (token input only)
    bidirectional: bool = False         # tag from both left and right context

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("output_size", self.output_size)
        check_exactly_one(("vocab_size", "input_size"), (self.vocab_size, self.input_size))
        check_optional_int("input_size", self.input_size)
        check_optional_int("vocab_size", self.vocab_size)
        check_int("embedding_dim", self.embedding_dim)
        check_bool("bidirectional", self.bidirectional)


class ManyToMany(nn.Module):
    """Per-step outputs. Batch-first: (B, T, I) or (B, T) tokens -> (B, T, O)."""

    def __init__(self, config: ManyToManyConfig | None = None, **fields) -> None:
        super().__init__()
        self.config = config = resolve_config(ManyToManyConfig, config, fields)
        self.input = SequenceInput(config.vocab_size, config.embedding_dim, config.input_size, config.padding_idx)
        self.rnn = rnn_from_config(config, self.input.output_size, config.bidirectional)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.rnn.output_size * (2 if config.bidirectional else 1), config.output_size)

    def forward(self, x: Tensor, state: State | None = None, lengths: Tensor | list[int] | None = None
                ) -> tuple[Tensor, State]:
        """x: (B, T, I) or (B, T) tokens; state: the layer's (h_0[, c_0]) -> (outputs (B, T, O), final state).

        `model(x, state)` like the layers and `LanguageModel`, so TBPTT can carry the state across batches."""
        if isinstance(state, list) or (isinstance(state, Tensor) and not state.is_floating_point()):
            raise TypeError("ManyToMany(x, state=None, lengths=None): the second argument is the recurrent state; "
                            "pass lengths by keyword (lengths=...)")
        e = self.input(x)                                               # (B, T, E)
        out, state = self.rnn(e, state, lengths=lengths_tensor(lengths, e))  # (B, T, D*H)
        return self.head(self.drop(out)), state                         # (B, T, O)


@dataclass(kw_only=True)
class LanguageModelConfig(RecurrentConfig):
    """A recurrent language model: embedding -> recurrent layer -> linear head over the vocabulary."""

    vocab_size: int                     # tokens, both in and out
    embedding_dim: int | None = None    # embedding width; None: the recurrent output size (what tie_weights needs)
    tie_weights: bool = False           # share the embedding matrix with the output layer
    padding_idx: int | None = None      # token id whose embedding stays zero
    embedding_dropout: float = 0.0      # dropout on the embeddings

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("vocab_size", self.vocab_size)
        check_optional_int("embedding_dim", self.embedding_dim)
        check_bool("tie_weights", self.tie_weights)
        check_probability("embedding_dropout", self.embedding_dropout, high_inclusive=False)
        if self.tie_weights and self.embedding_size != self.output_features:
            raise ValueError(f"tie_weights needs embedding_dim equal to the recurrent output size "
                             f"{self.output_features} (the output layer reuses the embedding matrix), "
                             f"got embedding_dim={self.embedding_dim}")

    @property
    def output_features(self) -> int:
        """Features of the recurrent layer's output: proj_size for a projected LSTM, else hidden_size."""
        return self.layer_options.get("proj_size") or self.hidden_size

    @property
    def embedding_size(self) -> int:
        return self.embedding_dim or self.output_features


class LanguageModel(nn.Module):
    """Next-token prediction, left to right, state in and out: tokens (B, T) -> logits (B, T, V)."""

    def __init__(self, config: LanguageModelConfig | None = None, **fields) -> None:
        super().__init__()
        self.config = config = resolve_config(LanguageModelConfig, config, fields)
        dim = config.embedding_size
        self.embedding = nn.Embedding(config.vocab_size, dim, padding_idx=config.padding_idx)
        self.embedding_drop = nn.Dropout(config.embedding_dropout)
        self.rnn = rnn_from_config(config, dim)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.rnn.output_size, config.vocab_size)
        if config.tie_weights:
            self.head.weight = self.embedding.weight   # one (V, E) matrix, read in and written out

    def forward(self, tokens: Tensor, state: State | None = None, lengths: Tensor | list[int] | None = None
                ) -> tuple[Tensor, State]:
        """tokens (B, T), state from the previous chunk or None -> (logits (B, T, V), state after the chunk).

        With lengths, the returned state is each row's state after its last real token.
        """
        check_tokens("tokens", tokens, self.config.vocab_size, rank=2, layout="(batch, seq) of token ids")
        e = self.embedding_drop(self.embedding(tokens))                      # (B, T, E)
        out, state = self.rnn(e, state, lengths=lengths_tensor(lengths, e))  # (B, T, H)
        return self.head(self.drop(out)), state                             # (B, T, V)

    def loss(self, tokens: Tensor, lengths: Tensor | list[int] | None = None, state: State | None = None
             ) -> tuple[Tensor, State]:
        """Mean next-token cross-entropy over real steps of (B, T) tokens: predict tokens[:, 1:] from [:, :-1]."""
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        lens = None if lengths is None else (torch.as_tensor(lengths, device=tokens.device) - 1).clamp(min=0)
        logits, state = self(inputs, state, lens)
        return sequence_cross_entropy(logits, targets, lens), state

    @torch.no_grad()
    def generate(self, prompt: Tensor, max_new_tokens: int, *, temperature: float = 1.0, greedy: bool = False,
                 generator: torch.Generator | None = None) -> Tensor:
        """Continue each prompt row (B, T0) by sampling (or argmax) one token at a time -> (B, T0 + n)."""
        check_int("max_new_tokens", max_new_tokens, 0)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        logits, state = self(prompt)
        out = [prompt]
        for _ in range(max_new_tokens):
            last = logits[:, -1] / temperature                               # (B, V)
            nxt = last.argmax(-1) if greedy else torch.multinomial(last.softmax(-1), 1, generator=generator)[:, 0]
            out.append(nxt.unsqueeze(1))
            logits, state = self(nxt.unsqueeze(1), state)                    # one step, state carried
        return torch.cat(out, dim=1)
