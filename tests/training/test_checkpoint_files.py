"""Checkpoint files: atomic replacement, no stale files, refusal of bad states, exact state round trips."""

from __future__ import annotations

import json
import os

import pytest
import torch

from rnnkit.training import CheckpointError, NonFiniteError, load_checkpoint, save_checkpoint
from rnnkit.training.checkpoint import join_state, split_state


def test_a_crash_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, {"w": torch.ones(3)}, {}, {"trainer": {"step": 1}})
    real = os.replace

    def crash(src, dst):
        if str(dst).endswith("checkpoint.json"):
            raise OSError("disk full")
        real(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path, {"w": torch.zeros(3)}, {}, {"trainer": {"step": 2}})
    monkeypatch.setattr(os, "replace", real)
    ck = load_checkpoint(tmp_path)
    assert ck.meta["trainer"]["step"] == 1 and torch.equal(ck.model["w"], torch.ones(3))
    save_checkpoint(tmp_path, {"w": torch.zeros(3)}, {}, {"trainer": {"step": 3}})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and names[0] == "checkpoint.json"                # older generations removed
    assert not any(n.startswith(".tmp") for n in names)


def test_nonfinite_weights_are_never_saved(tmp_path):
    save_checkpoint(tmp_path, {"w": torch.ones(2)}, {}, {})
    with pytest.raises(NonFiniteError, match=r"weight 'w' is not finite; the previous checkpoint .* is kept"):
        save_checkpoint(tmp_path, {"w": torch.tensor([1.0, float("nan")])}, {}, {})
    assert torch.equal(load_checkpoint(tmp_path).model["w"], torch.ones(2))


def test_foreign_and_truncated_checkpoints_are_refused(tmp_path):
    save_checkpoint(tmp_path, {"w": torch.ones(2)}, {"t": torch.zeros(1)}, {})
    manifest = json.loads((tmp_path / "checkpoint.json").read_text())
    train_file = tmp_path / manifest["files"]["train"]
    train_file.write_bytes(train_file.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="does not match the SHA-256"):
        load_checkpoint(tmp_path)
    train_file.unlink()
    with pytest.raises(CheckpointError, match=r"corrupt checkpoint: .*train-.* is missing"):
        load_checkpoint(tmp_path)
    (tmp_path / "checkpoint.json").write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(tmp_path)
    (tmp_path / "checkpoint.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match="not an rnnkit checkpoint manifest"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("make", [
    lambda p: torch.optim.Adam(p, lr=1e-3),
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.1),
])
def test_optimizer_state_round_trips_through_json_and_safetensors(tmp_path, make):
    model = torch.nn.Linear(3, 2)
    opt = make(model.parameters())
    for _ in range(3):
        model(torch.randn(4, 3)).sum().backward()
        opt.step()
    tensors: dict = {}
    doc = json.loads(json.dumps(split_state(opt.state_dict(), "optim", tensors)))
    save_checkpoint(tmp_path, model.state_dict(), tensors, {"optim": doc})
    ck = load_checkpoint(tmp_path)
    fresh = make(model.parameters())
    fresh.load_state_dict(join_state(ck.meta["optim"], ck.tensors))
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for i in a["state"]:
        for k, v in a["state"][i].items():
            assert torch.equal(v, b["state"][i][k]), k


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_checkpoint_files_get_the_mode_the_umask_allows_not_mkstemps_0600(tmp_path):
    from rnnkit.training.checkpoint import _UMASK

    folder = save_checkpoint(tmp_path / "ck", {"w": torch.ones(3)}, {}, {"trainer": {"step": 1}})
    files = [f for f in folder.iterdir() if f.is_file()]
    assert files and all(f.stat().st_mode & 0o777 == 0o666 & ~_UMASK for f in files)
