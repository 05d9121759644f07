"""The generic trainer: exact resumption, non-finite updates, signals, evaluation, clipping, precision."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch

from rnnkit.training import (
    TBPTT,
    Callback,
    CheckpointError,
    CSVLogger,
    FullBPTT,
    NonFiniteError,
    TrainConfig,
    Trainer,
    TrainingInterrupted,
    load_checkpoint,
    seed_everything,
    stream_loss,
)
from rnnkit.training.logging import read_csv
from training.toys import ToyStateful, mse_sum, toy_stream

QUIET = {"progress": False, "tensorboard": False, "plots": False, "checkpoint_every": 3}


def make(tmp_path, k1=3, k2=3, dropout=0.0, callbacks=(), **train):
    seed_everything(0)
    model = ToyStateful("lstm", layers=2 if dropout else 1, dropout=dropout, dtype=torch.float32)
    cfg = TrainConfig(**{"epochs": 2, "k1": k1, "k2": k2, "lr": 0.01, "eval_every": 4, **QUIET, **train})
    data = toy_stream(N=8 * k1, T=k1, dtype=torch.float32)
    valid = toy_stream(N=12, T=4, dtype=torch.float32, seed=1)

    def evaluate(m):
        total, n = stream_loss(m, valid, mse_sum)
        return {"mse": total / n}

    return Trainer(model, cfg, data, TBPTT(k1, k2, mse_sum), evaluate=evaluate, primary="mse", run_dir=tmp_path,
                   callbacks=[CSVLogger(tmp_path / "logs"), *callbacks])


class Crash(Callback):
    """Simulates a kill: an exception in the middle of training, after some checkpoints."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_update(self, trainer, row):
        if row["step"] == self.at:
            raise RuntimeError("killed")


def losses(path):
    return [r["loss"] for r in read_csv(path / "logs" / "train.csv")]


@pytest.mark.parametrize(("k1", "k2", "dropout"), [(3, 3, 0.0), (2, 5, 0.0), (3, 7, 0.3)])
def test_resume_after_kill_reproduces_the_uninterrupted_loss_curve(tmp_path, k1, k2, dropout):
    make(tmp_path / "a", k1, k2, dropout).fit()
    with pytest.raises(RuntimeError, match="killed"):
        make(tmp_path / "b", k1, k2, dropout, callbacks=[Crash(at=8)]).fit()
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / "last").meta["trainer"]["step"] == 6
    make(tmp_path / "b", k1, k2, dropout).fit(resume=True)
    want, got = losses(tmp_path / "a"), losses(tmp_path / "b")
    assert len(want) == 16 and got == want          # the same floats, written with repr
    assert read_csv(tmp_path / "a" / "logs" / "eval.csv") == read_csv(tmp_path / "b" / "logs" / "eval.csv")


class Poison(Callback):
    """Makes the next update's loss NaN by poisoning one input value."""

    def __init__(self, trainer, at):
        self.trainer, self.at = trainer, at

    def on_update(self, trainer, row):
        if row["step"] == self.at - 1:
            trainer.data.x[0, self.at * trainer.config.k1 - 1, 0] = float("nan")


def test_nonfinite_loss_stops_without_applying_the_update_or_touching_the_checkpoint(tmp_path):
    t = make(tmp_path, epochs=1)
    t.callbacks.append(Poison(t, at=7))
    with pytest.raises(NonFiniteError, match=r"non-finite loss \(nan\) at update 7 \(epoch 1, batch 7\); the update "
                                             r"was not applied.*last good checkpoint .* is kept"):
        t.fit()
    before = {k: v.clone() for k, v in load_checkpoint(tmp_path / "checkpoints" / "last").model.items()}
    assert load_checkpoint(tmp_path / "checkpoints" / "last").meta["trainer"]["step"] == 6
    assert all(torch.isfinite(p).all() for p in t.model.parameters())
    assert len(losses(tmp_path)) == 6                      # the failed update was not logged as done
    assert before.keys() == t.model.state_dict().keys()


def test_nonfinite_loss_can_skip_the_update(tmp_path):
    t = make(tmp_path, epochs=1, on_nonfinite="skip")
    t.callbacks.append(Poison(t, at=5))
    snapshot = {}

    class Keep(Callback):
        def on_update(self, trainer, row):
            snapshot[row["step"]] = [p.detach().clone() for p in trainer.model.parameters()]

    t.callbacks.append(Keep())
    state = t.fit()
    assert state.skipped == 1 and state.step == 8 and state.finished
    assert all(torch.equal(a, b) for a, b in zip(snapshot[4], snapshot[5], strict=True))   # not applied
    assert all(torch.isfinite(p).all() for p in t.model.parameters())


def test_nonfinite_gradient_names_the_parameter(tmp_path):
    t = make(tmp_path, epochs=1)

    class Spoil(Callback):
        def on_update(self, trainer, row):
            if row["step"] == 2:
                trainer.model.head.weight.register_hook(lambda g: g * float("inf"))

    t.callbacks.append(Spoil())
    with pytest.raises(NonFiniteError, match=r"non-finite gradient \((inf|nan)\) in parameter 'head.weight' at "
                                             r"update 3"):
        t.fit()


def test_sigint_saves_a_loadable_checkpoint_and_stops(tmp_path):
    class Interrupt(Callback):
        def on_update(self, trainer, row):
            if row["step"] == 5:
                os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)       # default_int_handler, or SIG_IGN under nohup / in background
    t = make(tmp_path, callbacks=[Interrupt()])
    with pytest.raises(TrainingInterrupted, match="interrupted by SIGINT at update 5") as info:
        t.fit()
    assert info.value.signal_number == signal.SIGINT
    ck = load_checkpoint(tmp_path / "checkpoints" / "last")
    assert ck.meta["trainer"]["step"] == 5
    assert signal.getsignal(signal.SIGINT) is before                         # handlers restored
    state = make(tmp_path).fit(resume=True)
    assert state.finished and state.step == 16


def test_corrupt_and_mismatched_checkpoints_are_refused(tmp_path):
    make(tmp_path, epochs=1).fit()
    last = tmp_path / "checkpoints" / "last"
    model_file = next(last.glob("model-*.safetensors"))
    data = bytearray(model_file.read_bytes())
    data[-3] ^= 0xFF
    model_file.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the SHA-256"):
        load_checkpoint(last)
    with pytest.raises(CheckpointError, match="not an rnnkit checkpoint"):
        load_checkpoint(tmp_path / "logs")
    best = tmp_path / "checkpoints" / "best"
    other = Trainer(ToyStateful("gru", dtype=torch.float32), TrainConfig(**QUIET), toy_stream(), TBPTT(4))
    with pytest.raises(CheckpointError, match=r"does not match this model: 4 shape mismatch\(es\) "
                                              r"\(rnn.weight_ih_l0: checkpoint \(20, 3\) vs model \(15, 3\)"):
        other.restore(best)
    (best / "checkpoint.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(best)


def test_best_checkpoint_and_early_stopping(tmp_path):
    t = make(tmp_path, epochs=50, eval_every=2, patience=2, lr=0.5, optimizer="sgd", momentum=0.0)
    state = t.fit()
    assert state.stop_reason.startswith("early stopping: mse has not improved for 2 evaluations")
    assert state.step < 50 * 8
    best = load_checkpoint(tmp_path / "checkpoints" / "best").meta["trainer"]
    assert best["step"] == state.best_step and best["best"] == state.best


def test_clipping_by_norm_and_value(tmp_path):
    seen = []

    class Grab(Callback):
        def on_update(self, trainer, row):
            seen.append(max(float(p.grad.abs().max()) for p in trainer.model.parameters() if p.grad is not None))

    make(tmp_path / "v", epochs=1, clip="value", clip_value=1e-3, callbacks=[Grab()]).fit()
    assert max(seen) <= 1e-3 + 1e-9
    rows = read_csv(tmp_path / "v" / "logs" / "train.csv")
    assert all(float(r["grad_norm"]) > 0 for r in rows)
    t = make(tmp_path / "n", epochs=1, clip="norm", clip_value=1e-3)
    t.fit()
    assert all(r["clipped"] == "1" for r in read_csv(tmp_path / "n" / "logs" / "train.csv"))


def test_full_bptt_stepper_and_bf16_autocast_on_cpu(tmp_path):
    seed_everything(0)
    model = ToyStateful("gru", dtype=torch.float32, engine="reference")   # the compiled loops take fp32/fp64
    data = toy_stream(N=24, T=6, dtype=torch.float32)
    step = FullBPTT(lambda m, b: mse_sum(m(b.x)[0].float(), b.y))
    state = Trainer(model, TrainConfig(epochs=2, precision="bf16", schedule="cosine", warmup_steps=2, **QUIET),
                    data, step).fit()
    assert state.step == 8 and state.finished


def test_diagnostics_probe_and_memory_are_logged(tmp_path):
    make(tmp_path, epochs=1, diagnostics_every=4).fit()
    grads = read_csv(tmp_path / "logs" / "state_grads.csv")
    gates = read_csv(tmp_path / "logs" / "gates.csv")
    assert {r["step"] for r in grads} == {"4", "8"} and {r["t"] for r in grads} == {"0", "1", "2"}
    assert {r["gate"] for r in gates} == {"i", "f", "g", "o"}
    rows = read_csv(tmp_path / "logs" / "train.csv")
    assert all(float(r["peak_mem_mb"]) > 0 for r in rows) and math.isfinite(float(rows[0]["grad_norm"]))


def test_probe_does_not_change_the_training_run(tmp_path):
    make(tmp_path / "a", epochs=1, dropout=0.3).fit()
    make(tmp_path / "b", epochs=1, dropout=0.3, diagnostics_every=2).fit()
    assert losses(tmp_path / "a") == losses(tmp_path / "b")


def test_a_trainer_with_distributed_false_stays_in_its_own_process_under_torchrun(tmp_path, monkeypatch):
    """What a baseline that only rank 0 trains needs: joining the group would wait for the other ranks."""
    from rnnkit.training import distributed

    for k, v in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2",
                 "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}.items():
        monkeypatch.setenv(k, v)
    assert distributed.Launch.from_env() is not None           # the environment says: 2 processes

    def refuse(*a, **kw):
        raise AssertionError("distributed=False must not join the process group")

    monkeypatch.setattr(distributed, "setup", refuse)
    seed_everything(0)
    model = ToyStateful("gru", dtype=torch.float32)
    step = FullBPTT(lambda m, b: mse_sum(m(b.x)[0], b.y))
    state = Trainer(model, TrainConfig(epochs=1, **QUIET), toy_stream(N=12, T=4, dtype=torch.float32), step,
                    distributed=False).fit()
    assert state.finished and state.step == 3


def test_a_list_of_batches_trains_and_anything_else_gets_a_clear_error(tmp_path):
    seed_everything(0)
    model = ToyStateful("gru", dtype=torch.float32)
    batches = list(toy_stream(N=24, T=6, dtype=torch.float32).epoch(0))
    step = FullBPTT(lambda m, b: mse_sum(m(b.x)[0], b.y))
    state = Trainer(model, TrainConfig(epochs=2, **QUIET), batches, step).fit()
    assert state.step == 2 * len(batches) and state.finished
    with pytest.raises(TypeError, match=r"data must be a list of batches or a BatchSource"):
        Trainer(model, TrainConfig(**QUIET), iter(batches), step)


@pytest.mark.parametrize(("loss_fn", "message"), [
    (lambda m, b: mse_sum(m(b.x)[0], b.y)[0] / 10, r"must return \(loss_sum, count\)"),
    (lambda m, b: ((m(b.x)[0] - b.y) ** 2, 10), r"loss_sum must be a scalar tensor"),
    (lambda m, b: (mse_sum(m(b.x)[0], b.y)[0], "ten"), r"count must be the number of targets"),
])
def test_a_loss_function_that_returns_the_wrong_thing_is_named(tmp_path, loss_fn, message):
    model = ToyStateful("gru", dtype=torch.float32)
    batches = list(toy_stream(N=24, T=6, dtype=torch.float32).epoch(0))
    with pytest.raises(TypeError, match=r"FullBPTT's loss_fn\(model, batch\)" + ".*" + message):
        Trainer(model, TrainConfig(epochs=1, **QUIET), batches, FullBPTT(loss_fn)).fit()


def test_default_callbacks_lay_out_a_run_folder_as_the_cli_does(tmp_path):
    from rnnkit.training import default_callbacks

    seed_everything(0)
    cfg = TrainConfig(epochs=1, progress=False, tensorboard=True, plots=True)
    model, data = ToyStateful("gru", dtype=torch.float32), toy_stream(N=24, T=6, dtype=torch.float32)
    Trainer(model, cfg, data, TBPTT(6, 6, mse_sum), run_dir=tmp_path,
            callbacks=default_callbacks(cfg, tmp_path)).fit()
    assert (tmp_path / "logs" / "train.csv").is_file() and any((tmp_path / "logs" / "tb").iterdir())
    assert (tmp_path / "plots" / "training.png").is_file()


def test_resuming_an_early_stopped_run_trains_no_further_unless_patience_is_raised(tmp_path, capsys):
    t = make(tmp_path, epochs=50, eval_every=2, patience=2, lr=0.5, optimizer="sgd", momentum=0.0)
    stopped = t.fit().step
    again = make(tmp_path, epochs=50, eval_every=2, patience=2, lr=0.5, optimizer="sgd", momentum=0.0)
    assert again.fit(resume=True).step == stopped
    assert f"the run had stopped at update {stopped} (early stopping" in capsys.readouterr().err
    more = make(tmp_path, epochs=50, eval_every=2, patience=6, lr=0.5, optimizer="sgd", momentum=0.0)
    assert more.fit(resume=True).step > stopped
