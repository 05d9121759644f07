"""Configs: the cell factory, config-or-fields construction, and clear errors for bad values."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.architectures import (
    Attention,
    LanguageModel,
    ManyToMany,
    ManyToOne,
    ManyToOneConfig,
    OneToMany,
    OneToOne,
    Seq2Seq,
    beam_search,
    make_rnn,
)


@pytest.mark.parametrize(("cell", "cls"), [("lstm", rnnkit.LSTM), ("gru", rnnkit.GRU), ("elman", rnnkit.RNN)])
def test_make_rnn_returns_the_rnnkit_layer_for_each_cell(cell, cls):
    layer = make_rnn(cell, 3, 5, num_layers=2, bidirectional=True)
    assert type(layer) is cls
    assert (layer.input_size, layer.hidden_size, layer.num_layers) == (3, 5, 2)
    assert layer.batch_first and layer.bidirectional


def test_make_rnn_passes_dropout_only_between_stacked_layers():
    assert make_rnn("gru", 3, 5, num_layers=1, dropout=0.5).dropout == 0.0
    assert make_rnn("gru", 3, 5, num_layers=2, dropout=0.5).dropout == 0.5


def test_layer_options_reach_the_layer():
    m = ManyToOne(input_size=3, output_size=2, hidden_size=4, layer_options={"forget_bias": 1.0})
    assert m.rnn.forget_bias == 1.0
    assert torch.allclose(m.rnn.bias_ih_l0[4:8] + m.rnn.bias_hh_l0[4:8], torch.ones(4))


def test_config_object_and_keyword_fields_build_the_same_model():
    config = ManyToOneConfig(input_size=3, output_size=2, hidden_size=4, cell="gru")
    a, b = ManyToOne(config), ManyToOne(input_size=3, output_size=2, hidden_size=4, cell="gru")
    assert a.config == b.config
    assert ManyToOne(config, hidden_size=6).config.hidden_size == 6   # fields override the config


def test_config_of_the_wrong_type_raises_type_error():
    with pytest.raises(TypeError, match="ManyToOneConfig"):
        ManyToOne(object())


BAD = [
    (ManyToOne, {"input_size": 3, "output_size": 2, "cell": "transformer"}, "cell must be one of"),
    (ManyToOne, {"input_size": 3, "output_size": 2, "hidden_size": 0}, "hidden_size must be an int >= 1"),
    (ManyToOne, {"input_size": 3, "output_size": 2, "num_layers": 1.5}, "num_layers must be an int"),
    (ManyToOne, {"input_size": 3, "output_size": 2, "dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
    (ManyToOne, {"input_size": 3, "output_size": 2, "pooling": "sum"}, "pooling must be one of"),
    (ManyToOne, {"input_size": 3, "output_size": 0}, "output_size must be an int >= 1"),
    (ManyToOne, {"output_size": 2}, "set exactly one of vocab_size"),
    (ManyToOne, {"input_size": 3, "vocab_size": 9, "output_size": 2}, "set exactly one of vocab_size"),
    (ManyToOne, {"input_size": 3, "output_size": 2, "bidirectional": 1}, "bidirectional must be True or False"),
    (ManyToOne, {"input_size": 3, "output_size": 2, "layer_options": {"batch_first": False}}, "unknown key"),
    (ManyToOne, {"input_size": 3, "output_size": 2, "layer_options": {"nonlinearity": "relu"}}, "cell='elman' only"),
    (ManyToMany, {"input_size": 3, "output_size": 2, "embedding_dim": -1}, "embedding_dim must be"),
    (LanguageModel, {"vocab_size": 10, "embedding_dim": 8, "hidden_size": 16, "tie_weights": True},
     "tie_weights needs embedding_dim equal"),
    (LanguageModel, {"vocab_size": 10, "embedding_dropout": -0.1}, "embedding_dropout must be"),
    (OneToOne, {"input_size": 3, "output_size": 2, "hidden_sizes": (4, 0)}, r"hidden_sizes\[1\] must be"),
    (OneToOne, {"input_size": 3, "output_size": 2, "activation": "swish"}, "activation must be one of"),
    (OneToMany, {"feature_size": 4, "vocab_size": 5, "condition": "always"}, "condition must be one of"),
    (OneToMany, {"feature_size": 4, "vocab_size": 5, "end_token": 5}, "end_token must be a token id below"),
    (OneToMany, {"feature_size": 4, "vocab_size": 5, "sampling_prob": 1.5}, "sampling_prob must be"),
    (Seq2Seq, {"src_vocab_size": 5, "tgt_vocab_size": 5, "attention": "luong"}, "attention must be one of"),
    (Seq2Seq, {"src_vocab_size": 5, "tgt_vocab_size": 5, "bridge": "mlp"}, "bridge must be one of"),
    (Seq2Seq, {"src_vocab_size": 5, "tgt_vocab_size": 5, "bidirectional": True, "bridge": "copy"},
     "bridge='copy' needs"),
    (Seq2Seq, {"src_vocab_size": 5, "tgt_vocab_size": 5, "bidirectional": True, "attention": "dot"},
     "attention='dot' needs"),
    (Seq2Seq, {"src_vocab_size": 5, "tgt_vocab_size": 5, "start_token": -1}, "start_token must be an int >= 0"),
]


@pytest.mark.parametrize(("cls", "fields", "match"), BAD, ids=[f"{c.__name__}-{m[:24]}" for c, _, m in BAD])
def test_bad_config_value_raises_a_clear_value_error(cls, fields, match):
    with pytest.raises(ValueError, match=match):
        cls(**fields)


def test_dot_attention_with_different_sizes_raises_value_error():
    with pytest.raises(ValueError, match="use 'general' or 'additive'"):
        Attention("dot", 4, 8)


def test_bad_search_arguments_raise_value_error():
    m = OneToMany(feature_size=4, vocab_size=6, hidden_size=8)
    with pytest.raises(ValueError, match="beam_width must be an int >= 1"):
        m.generate(torch.randn(2, 4), beam_width=0)
    with pytest.raises(ValueError, match="max_length must be an int >= 1"):
        m.generate(torch.randn(2, 4), max_length=0)
    with pytest.raises(ValueError, match="length_norm must be a number >= 0"):
        m.generate(torch.randn(2, 4), beam_width=2, length_norm=-1.0)
    with pytest.raises(ValueError, match="start must be a"):
        beam_search(m, m.initial_state(torch.randn(2, 4)), torch.ones(2), beam_width=2, max_length=3)


def test_bad_inputs_raise_clear_errors():
    m = ManyToOne(input_size=3, output_size=2, hidden_size=4)
    with pytest.raises(ValueError, match="input_size=3"):
        m(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="3-D"):
        m(torch.randn(2, 5))
    with pytest.raises(ValueError, match="lengths must be <= the sequence length 5"):
        m(torch.randn(2, 5, 3), lengths=[5, 6])
    tok = ManyToOne(vocab_size=7, output_size=2, hidden_size=4)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 7\)"):
        tok(torch.tensor([[1, 7]]))
    with pytest.raises(TypeError, match="integer token ids"):
        tok(torch.rand(1, 2))
    s2s = Seq2Seq(src_vocab_size=5, tgt_vocab_size=5, hidden_size=4)
    with pytest.raises(ValueError, match="same batch size"):
        s2s(torch.ones(2, 3, dtype=torch.long), torch.ones(3, 3, dtype=torch.long))
    cap = OneToMany(feature_size=4, vocab_size=6, hidden_size=8)
    with pytest.raises(ValueError, match="feature_size=4"):
        cap.generate(torch.randn(2, 5))
