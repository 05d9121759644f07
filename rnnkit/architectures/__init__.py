"""The four classic recurrent architectures (and a feed-forward reference), built on rnnkit's layers.

    one-to-one    `OneToOne`       MLP baseline: no recurrence
    one-to-many   `OneToMany`      a vector conditions a decoder that emits tokens (captioning)
    many-to-one   `ManyToOne`      sequence classifier/regressor with length-aware pooling
    many-to-many  `ManyToMany`     aligned tagger; `LanguageModel` for next-token prediction
    seq2seq       `Seq2Seq`        encoder-decoder with optional attention, greedy and beam search

All models are batch-first, take a typed config (or its fields as keyword arguments) and choose their
cell with `cell="lstm" | "gru" | "elman"`.
"""

from rnnkit.architectures.attention import Attention, masked_softmax
from rnnkit.architectures.config import CELLS, RecurrentConfig
from rnnkit.architectures.decoding import (
    Decoded,
    Decoder,
    beam_search,
    greedy_search,
    scheduled_sampling,
    shift_right,
)
from rnnkit.architectures.factory import detach_state, make_rnn
from rnnkit.architectures.losses import sequence_accuracy, sequence_cross_entropy, sequence_mask
from rnnkit.architectures.many_to_many import LanguageModel, LanguageModelConfig, ManyToMany, ManyToManyConfig
from rnnkit.architectures.many_to_one import ManyToOne, ManyToOneConfig
from rnnkit.architectures.one_to_many import OneToMany, OneToManyConfig
from rnnkit.architectures.one_to_one import OneToOne, OneToOneConfig
from rnnkit.architectures.seq2seq import Seq2Seq, Seq2SeqConfig, Seq2SeqOutput

__all__ = [
    "CELLS", "Attention", "Decoded", "Decoder", "LanguageModel", "LanguageModelConfig", "ManyToMany",
    "ManyToManyConfig", "ManyToOne", "ManyToOneConfig", "OneToMany", "OneToManyConfig", "OneToOne",
    "OneToOneConfig", "RecurrentConfig", "Seq2Seq", "Seq2SeqConfig", "Seq2SeqOutput", "beam_search",
    "detach_state", "greedy_search", "make_rnn", "masked_softmax", "scheduled_sampling", "sequence_accuracy",
    "sequence_cross_entropy", "sequence_mask", "shift_right",
]
