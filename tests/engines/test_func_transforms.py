"""torch.func transforms (grad, jacrev, vmap) through every engine choice give the reference numbers."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.engines import fused, select_engine

X = torch.randn(5, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


def pair(cls, engine):
    torch.manual_seed(0)
    kw = {"num_layers": 2, "bidirectional": True, "dtype": torch.float64}
    layer, ref = cls(3, 4, engine=engine, **kw), cls(3, 4, engine="reference", **kw)
    ref.load_state_dict(layer.state_dict())
    return layer, ref


@pytest.mark.parametrize("engine", ["auto", "fused"])
@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU, rnnkit.RNN])
def test_func_grad_and_jacrev_match_the_reference_engine(cls, engine):
    layer, ref = pair(cls, engine)

    def grads(mod):
        params = dict(mod.named_parameters())
        return torch.func.grad(lambda p: torch.func.functional_call(mod, p, (X,))[0].pow(2).sum())(params)

    got, want = grads(layer), grads(ref)
    for name in want:
        torch.testing.assert_close(got[name], want[name])
    torch.testing.assert_close(torch.func.jacrev(lambda x: layer(x)[0].sum(0))(X),
                               torch.func.jacrev(lambda x: ref(x)[0].sum(0))(X))


@pytest.mark.parametrize("engine", ["auto", "fused"])
@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU, rnnkit.RNN])
def test_vmap_over_the_batch_equals_the_batched_call(cls, engine):
    layer, _ = pair(cls, engine)
    per_row = torch.func.vmap(lambda x: layer(x)[0], in_dims=1, out_dims=1)(X)      # each row unbatched
    torch.testing.assert_close(per_row, layer(X)[0])


def test_auto_picks_the_reference_engine_only_inside_a_transform():
    layer, _ = pair(rnnkit.LSTM, "auto")
    w = layer.direction_weights(0, 0)
    assert select_engine("lstm", X, w) != "reference" and not fused.functorch_active()
    inside = []
    torch.func.grad(lambda x: (inside.append(select_engine("lstm", x, w)), x.sum())[1])(X)
    assert inside == ["reference"]
