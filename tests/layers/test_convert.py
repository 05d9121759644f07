"""Layers convert to and from torch.nn: identical configuration, keys and weights, both directions."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import rnnkit

I, H, P = 4, 6, 2

TORCH_LAYERS = {
    "rnn_tanh": lambda **kw: nn.RNN(I, H, **kw),
    "rnn_relu": lambda **kw: nn.RNN(I, H, nonlinearity="relu", **kw),
    "gru": lambda **kw: nn.GRU(I, H, **kw),
    "lstm": lambda **kw: nn.LSTM(I, H, **kw),
    "lstm_proj": lambda **kw: nn.LSTM(I, H, proj_size=P, **kw),
}
CONFIGS = [dict(num_layers=n, bidirectional=bi, bias=bias, batch_first=bf)
           for n, bi, bias, bf in itertools.product((1, 3), (False, True), (True, False), (False, True))]

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")


def config_id(cfg: dict) -> str:
    return "-".join(f"{k}={v}" for k, v in cfg.items())


def assert_state_dicts_equal(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype, k
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("cfg", CONFIGS, ids=config_id)
@pytest.mark.parametrize("kind", sorted(TORCH_LAYERS))
def test_torch_to_rnnkit_to_torch_round_trips_exactly(kind, cfg):
    reference = TORCH_LAYERS[kind](**cfg)
    ours = rnnkit.from_torch(reference)
    back = ours.to_torch()
    assert type(back) is type(reference)
    assert_state_dicts_equal(ours, reference)
    assert_state_dicts_equal(back, reference)
    for attr in ("mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                 "bidirectional", "proj_size", "nonlinearity"):
        assert getattr(back, attr, None) == getattr(reference, attr, None), attr


@pytest.mark.parametrize("cfg", CONFIGS, ids=config_id)
@pytest.mark.parametrize("kind", sorted(TORCH_LAYERS))
def test_rnnkit_to_torch_to_rnnkit_round_trips_exactly(kind, cfg):
    ours = rnnkit.from_torch(TORCH_LAYERS[kind](**cfg))
    ours.load_state_dict({k: torch.randn_like(v) for k, v in ours.state_dict().items()})
    back = type(ours).from_torch(ours.to_torch())
    assert type(back) is type(ours)
    assert_state_dicts_equal(back, ours)


@pytest.mark.parametrize("cfg", CONFIGS, ids=config_id)
@pytest.mark.parametrize("kind", sorted(TORCH_LAYERS))
def test_state_dict_keys_and_shapes_are_torchs(kind, cfg):
    reference = TORCH_LAYERS[kind](**cfg)
    cls = {"gru": rnnkit.GRU, "rnn_tanh": rnnkit.RNN, "rnn_relu": rnnkit.RNN}.get(kind, rnnkit.LSTM)
    extra = {"proj_size": P} if kind == "lstm_proj" else {}
    ours = cls(I, H, **extra, **cfg)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, v.shape) for k, v in reference.state_dict().items()]
    reference.load_state_dict(ours.state_dict())     # and the other way round, strictly
    ours.load_state_dict(reference.state_dict())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conversion_keeps_dtype_and_training_mode(dtype):
    reference = nn.GRU(I, H, dtype=dtype).eval()
    ours = rnnkit.from_torch(reference)
    assert ours.weight_ih_l0.dtype == dtype and not ours.training
    back = ours.train().to_torch()
    assert back.weight_ih_l0.dtype == dtype and back.training


def test_from_torch_copies_rather_than_shares_weights():
    reference = nn.LSTM(I, H)
    ours = rnnkit.from_torch(reference)
    with torch.no_grad():
        ours.weight_ih_l0.zero_()
    assert reference.weight_ih_l0.abs().sum() > 0


def test_from_torch_passes_rnnkit_only_options():
    ours = rnnkit.LSTM.from_torch(nn.LSTM(I, H), engine="reference", check_finite=True)
    assert ours.engine == "reference" and ours.check_finite


@pytest.mark.parametrize("cls, wrong", [(rnnkit.LSTM, nn.GRU), (rnnkit.GRU, nn.LSTM), (rnnkit.RNN, nn.LSTM)])
def test_layer_from_torch_rejects_another_torch_class(cls, wrong):
    with pytest.raises(TypeError, match=f"{cls.__name__}.from_torch expects a torch.nn.{cls.__name__}, got "
                                        f"{wrong.__name__}"):
        cls.from_torch(wrong(I, H))


def test_module_level_from_torch_rejects_non_recurrent_modules():
    with pytest.raises(TypeError, match=r"from_torch supports torch.nn.RNN/LSTM/GRU and their cells, got Linear"):
        rnnkit.from_torch(nn.Linear(I, H))


@pytest.mark.parametrize("option", [{"layer_norm": True}, {"recurrent_dropout": 0.1}])
@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU])
def test_layer_with_options_torch_lacks_refuses_to_torch(cls, option):
    with pytest.raises(ValueError, match=r"layer_norm and recurrent_dropout have no torch.nn equivalent"):
        cls(I, H, **option).to_torch()


def test_from_torch_with_layer_norm_copies_weights_and_adds_unit_norms():
    reference = nn.LSTM(I, H, num_layers=2, bidirectional=True)
    ours = rnnkit.LSTM.from_torch(reference, layer_norm=True)
    assert torch.equal(ours.weight_hh_l1_reverse, reference.weight_hh_l1_reverse)
    assert torch.equal(ours.ln_c_weight_l1_reverse, torch.ones(H))
