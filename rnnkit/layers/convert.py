"""Conversion to and from `torch.nn` recurrent modules; parameter names match, so state_dicts interchange."""

from __future__ import annotations

from torch import nn

_TORCH_MODES = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN_TANH", "rnn_relu": "RNN_RELU"}
_CELLS = {nn.RNNCell: "ElmanCell", nn.LSTMCell: "LSTMCell", nn.GRUCell: "GRUCell"}


def _device_dtype(module: nn.Module) -> dict:
    p = next(module.parameters())
    return {"device": p.device, "dtype": p.dtype}


def layer_from_torch(cls, module: nn.RNNBase, **options):
    """Build `cls` (RNN, LSTM or GRU) with `module`'s configuration and a copy of its weights."""
    want = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}[cls.__name__]
    if not isinstance(module, want):
        raise TypeError(f"{cls.__name__}.from_torch expects a torch.nn.{want.__name__}, got "
                        f"{type(module).__name__}")
    kw = {"num_layers": module.num_layers, "bias": module.bias, "batch_first": module.batch_first,
          "dropout": module.dropout, "bidirectional": module.bidirectional, **_device_dtype(module)}
    if cls.__name__ == "LSTM":
        kw["proj_size"] = module.proj_size
    if cls.__name__ == "RNN":
        kw["nonlinearity"] = module.nonlinearity
    new = cls(module.input_size, module.hidden_size, **kw, **options)
    new.load_state_dict(module.state_dict(), strict=not new.layer_norm)
    new.train(module.training)
    return new


def layer_to_torch(layer) -> nn.RNNBase:
    """A `torch.nn` module computing the same function with the same weights (no rnnkit-only options)."""
    if layer.layer_norm or layer.recurrent_dropout:
        raise ValueError("to_torch: layer_norm and recurrent_dropout have no torch.nn equivalent; "
                         "this layer would compute a different function there")
    p = layer.weight_ih_l0
    kw = {"num_layers": layer.num_layers, "bias": layer.bias, "batch_first": layer.batch_first,
          "dropout": layer.dropout, "bidirectional": layer.bidirectional, "device": p.device, "dtype": p.dtype}
    if layer.mode == "lstm":
        m = nn.LSTM(layer.input_size, layer.hidden_size, proj_size=layer.proj_size, **kw)
    elif layer.mode == "gru":
        m = nn.GRU(layer.input_size, layer.hidden_size, **kw)
    else:
        m = nn.RNN(layer.input_size, layer.hidden_size, nonlinearity=layer.nonlinearity, **kw)
    m.load_state_dict(layer.state_dict())
    m.train(layer.training)
    return m


def from_torch(module: nn.Module, **options) -> nn.Module:
    """The rnnkit twin of a `torch.nn` RNN/LSTM/GRU or RNNCell/LSTMCell/GRUCell, with copied weights."""
    import rnnkit

    for torch_cls, name in ((nn.LSTM, "LSTM"), (nn.GRU, "GRU"), (nn.RNN, "RNN")):
        if isinstance(module, torch_cls):
            return getattr(rnnkit, name).from_torch(module, **options)
    for torch_cls, name in _CELLS.items():
        if isinstance(module, torch_cls):
            kw = {"bias": module.bias, **_device_dtype(module), **options}
            if name == "ElmanCell":
                kw["nonlinearity"] = module.nonlinearity
            cell = getattr(rnnkit, name)(module.input_size, module.hidden_size, **kw)
            cell.load_state_dict(module.state_dict(), strict=not getattr(cell, "layer_norm", False))
            return cell
    raise TypeError(f"from_torch supports torch.nn.RNN/LSTM/GRU and their cells, got {type(module).__name__}")


def cell_to_torch(cell) -> nn.Module:
    """The `torch.nn` cell with the same weights (ElmanCell -> RNNCell, LSTMCell, GRUCell)."""
    if cell.layer_norm:
        raise ValueError("to_torch: a layer-norm cell has no torch.nn equivalent")
    p = cell.weight_ih
    kw = {"bias": cell.bias, "device": p.device, "dtype": p.dtype}
    name = type(cell).__name__
    if name == "ElmanCell":
        m = nn.RNNCell(cell.input_size, cell.hidden_size, nonlinearity=cell.nonlinearity, **kw)
    else:
        m = getattr(nn, name)(cell.input_size, cell.hidden_size, **kw)
    m.load_state_dict(cell.state_dict())
    return m
