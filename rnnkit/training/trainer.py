"""A small generic trainer: updates from a stepper, checks, clipping, evaluation, checkpoints, resumption.

One update: zero the gradients, let the stepper (`FullBPTT` or `TBPTT`) leave the gradients of its
objective, refuse non-finite losses, gradients or states (stop, or skip the update), clip, step the
optimizer and the learning-rate schedule, log. Held-out evaluation runs every `eval_every` updates (or per
epoch); the best result is kept as the `best` checkpoint and drives early stopping. `last` is saved every
`checkpoint_every` updates, at each epoch end, at the end, and when SIGINT/SIGTERM arrives.

Resuming restores weights, optimizer, schedule, loss scaler, counters, the stepper's carried state and
every RNG, and restarts the epoch at the next batch, so on CPU the resumed run repeats the losses of an
uninterrupted run exactly. Logged rows after the checkpoint are dropped and redone.

A skipped update (non-finite values with on_nonfinite="skip") changes no weight but still counts as an
update and advances the learning-rate schedule.

Under `torchrun` with several processes (`rnnkit.training.distributed`) the same trainer runs data-parallel:
each rank trains on its rows of every batch, the gradients and the logged loss are those of the global
batch, evaluation metrics and stop decisions are rank 0's, and only rank 0 runs the callbacks (unless a
callback sets `all_ranks = True`) and writes checkpoints, which hold every rank's carried state.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.training import diagnostics as D
from rnnkit.training import distributed as _distributed
from rnnkit.training import runlock
from rnnkit.training.bptt import Stepper, UpdateResult
from rnnkit.training.callbacks import Callback
from rnnkit.training.checkpoint import join_state, load_checkpoint, load_model_state, save_checkpoint, split_state
from rnnkit.training.config import TrainConfig
from rnnkit.training.errors import (
    CheckpointError,
    ConfigError,
    DistributedError,
    NonFiniteError,
    TrainingInterrupted,
)
from rnnkit.training.optim import build_optimizer, build_scheduler
from rnnkit.training.runtime import Precision, resolve_device, rng_state, seed_everything, set_rng_state
from rnnkit.training.sharding import EMPTY, shard_source
from rnnkit.training.streams import BatchSource, as_source


@dataclass
class TrainState:
    """Counters saved in every checkpoint."""

    step: int = 0                      # updates attempted (applied or skipped)
    epoch: int = 0                     # completed epochs
    batch: int = 0                     # batches done in the current epoch
    skipped: int = 0                   # updates skipped for non-finite values
    best: float | None = None          # best held-out primary metric so far
    best_step: int | None = None
    evals_since_best: int = 0
    last_eval_step: int | None = None
    seconds: float = 0.0               # training wall time over all sessions of this run
    finished: bool = False
    stop_reason: str | None = None


class Trainer:
    """Train `model` on `data` with `stepper`; see the module docstring.

    Args:
        evaluate: `evaluate(model) -> {metric: value}` on held-out data (None: no evaluation).
        primary: the metric that picks `best` and drives early stopping; `higher_is_better` its direction.
        run_dir: where checkpoints go (`run_dir/checkpoints/{last,best}`); None keeps nothing on disk.
        run_config: JSON stored in each checkpoint (e.g. the task and model config, to rebuild the model).
        meta: JSON the model needs besides its weights (e.g. a vocabulary), stored in each checkpoint.
        distributed: False keeps this trainer in its own process under torchrun (e.g. a baseline that only
            rank 0 trains); True (default) joins the process group when torchrun started several processes.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, data: BatchSource | Sequence, stepper: Stepper, *,
                 evaluate: Callable[[nn.Module], dict[str, float]] | None = None, primary: str = "loss",
                 higher_is_better: bool = False, run_dir: str | Path | None = None,
                 run_config: dict[str, Any] | None = None, meta: dict[str, Any] | None = None,
                 callbacks: Sequence[Callback] = (), distributed: bool = True) -> None:
        data = as_source(data)   # a list of batches works as it is
        self.model, self.config, self.data, self.stepper = model, config, data, stepper
        self.evaluate, self.primary, self.higher_is_better = evaluate, primary, higher_is_better
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.run_config, self.meta, self.callbacks = run_config or {}, meta or {}, list(callbacks)
        self.state = TrainState()
        if config.threads:
            torch.set_num_threads(config.threads)
        # None unless torchrun started several processes and this trainer takes part (a baseline that one rank
        # trains on its own passes distributed=False: it must not wait for the other ranks' gradients)
        self.dist = _distributed.setup(config.device) if distributed else None
        self.device = self.dist.device if self.dist else resolve_device(config.device)
        self.model.to(self.device)
        if self.dist:
            self.data = shard_source(data, self.dist.rank, self.dist.world_size)
            self.dist.check_same(len(self.data), lambda got: f"the ranks have different numbers of batches per "
                                 f"epoch ({got}); each must take part in every update", ConfigError)
            self.dist.broadcast_module(model)
            seed_everything(_distributed.rank_seed(config.seed, self.dist.rank), config.deterministic)
            self.callbacks = [cb for cb in self.callbacks if self.dist.is_main or getattr(cb, "all_ranks", False)]
        self.precision = Precision(config.precision, self.device)
        self.optimizer = build_optimizer(config, model.parameters())
        per_epoch = config.epochs * len(data)
        self.total_steps = min(per_epoch, config.max_steps) if config.max_steps else per_epoch
        self.scheduler = build_scheduler(config, self.optimizer, self.total_steps)
        self.memory = D.PeakMemory(self.device)
        self._named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._session_start = time.perf_counter()
        self.previous_seconds = 0.0        # training time of earlier sessions of a resumed run

    # ---- the loop ---------------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> TrainState:
        """Train until the epochs or max_steps are done, early stopping, or an interruption."""
        self.model.train()
        release = self._lock_run_dir()
        try:
            if resume:
                self._resume()
            self._session_start = time.perf_counter()
            for cb in self.callbacks:
                cb.on_fit_start(self)
            with _SignalGuard(abort_on_second=self.dist is None) as signals:
                self._loop(signals)
            for cb in self.callbacks:
                cb.on_fit_end(self)
        except DistributedError as e:
            raise DistributedError(f"{e}. {self._kept()}") from None
        finally:
            try:
                for cb in self.callbacks:
                    cb.close()
            finally:
                release()
        return self.state

    def _resume(self) -> None:
        self.restore(self.checkpoint_dir("last"))
        st = self.state
        if st.finished and self._budget_spent():
            self._say(f"the run had already finished at update {st.step}; nothing more to train (raise "
                      "--epochs or --max-steps to continue it)")
        elif self._stopped_early():
            self._say(f"the run had stopped at update {st.step} ({st.stop_reason}); nothing more to train "
                      "(raise --patience to continue it)")

    def _lock_run_dir(self) -> Callable[[], None]:
        """Hold run_dir against other processes while training (rank 0 holds it for all ranks)."""
        if self.run_dir is None:
            return lambda: None
        if self.dist is None:
            return runlock.hold(self.run_dir)
        release = self.dist.run_on_main(lambda: runlock.hold(self.run_dir), f"lock {self.run_dir}")
        return release or (lambda: None)

    def _loop(self, signals: _SignalGuard) -> None:
        cfg, st = self.config, self.state
        st.finished, st.stop_reason = False, st.stop_reason if self._stopped_early() else None
        while True:
            if self._budget_spent() or st.stop_reason:
                break
            if st.batch == 0:
                self.stepper.reset()
            completed = True
            for batch in self.data.epoch(st.epoch, start=st.batch):
                self._check_signal(signals)
                self._update(batch)
                if cfg.eval_every and st.step % cfg.eval_every == 0:
                    self._evaluate()
                if st.stop_reason or (cfg.max_steps and st.step >= cfg.max_steps):
                    completed = False
                    break
                if st.step % cfg.checkpoint_every == 0:
                    self.save("last")
            if completed:
                st.epoch, st.batch = st.epoch + 1, 0
                if not cfg.eval_every:
                    self._evaluate()
                self.save("last")
        self._check_signal(signals)
        if st.last_eval_step != st.step:
            self._evaluate()
        st.finished = True
        self.save("last")

    def _budget_spent(self) -> bool:
        """Whether the configured epochs or max_steps are done."""
        st, cfg = self.state, self.config
        return st.epoch >= cfg.epochs or bool(cfg.max_steps and st.step >= cfg.max_steps)

    def _stopped_early(self) -> bool:
        """Whether the state is a run that early stopping ended, under a patience that still stops it."""
        st, patience = self.state, self.config.patience
        return bool(st.stop_reason and patience and st.evals_since_best >= patience)

    def _update(self, batch: Any) -> None:
        cfg, st = self.config, self.state
        if hasattr(batch, "to"):
            batch = batch.to(self.device)
        self.optimizer.zero_grad(set_to_none=True)
        self.memory.reset()
        start = time.perf_counter()
        params = [p for _, p in self._named]
        result = UpdateResult(0.0, 0) if batch is EMPTY else self.stepper.update(
            self.model, batch, grad_scale=self.precision.grad_scale, autocast=self.precision.autocast)
        if self.dist:
            result = self.dist.reduce_update(params, result)
        scaler = self.precision.scaler
        if scaler is not None:
            scaler.unscale_(self.optimizer)
        norm = D.grad_norm(params)
        where = f"at update {st.step + 1} (epoch {st.epoch + 1}, batch {st.batch + 1})"
        problem = None
        if not math.isfinite(result.loss):
            problem = f"non-finite loss ({result.loss}) {where}"
        elif not result.state_finite:
            problem = f"non-finite recurrent state {where}"
        elif not math.isfinite(norm) and scaler is None:
            name, kind = D.first_nonfinite(self._named) or ("?", "nan")
            problem = f"non-finite gradient ({kind}) in parameter {name!r} {where}"
        lr = self.optimizer.param_groups[0]["lr"]
        if problem is not None:
            self._nonfinite(problem, result.state_finite)
            if scaler is not None:
                scaler.update()        # close the scaler's iteration (its unscale_ already ran)
        else:
            if cfg.clip == "norm":
                torch.nn.utils.clip_grad_norm_(params, cfg.clip_value)
            elif cfg.clip == "value":
                torch.nn.utils.clip_grad_value_(params, cfg.clip_value)
            if scaler is not None:
                scaler.step(self.optimizer)
                scaler.update()
            else:
                self.optimizer.step()
            bad = D.first_nonfinite(self._named, grads=False)
            if bad is not None:
                raise NonFiniteError(f"parameter {bad[0]!r} became {bad[1]} after the update {where} (learning "
                                     f"rate too high?); {self._kept()}")
        self.scheduler.step()
        seconds = time.perf_counter() - start
        st.step, st.batch = st.step + 1, st.batch + 1
        row = {"step": st.step, "epoch": self.epochs_done, "loss": result.loss, "lr": lr,
               "grad_norm": norm, "clipped": int(cfg.clip == "norm" and norm > cfg.clip_value),
               "skipped": int(problem is not None), "targets": result.count, "seconds": seconds,
               "tokens_per_s": result.count / seconds if seconds > 0 else 0.0,
               "peak_mem_mb": self.memory.peak(), "mem": self.memory.kind}
        for cb in self.callbacks:
            cb.on_update(self, row)
        if cfg.diagnostics_every and st.step % cfg.diagnostics_every == 0:
            self._probe(batch)

    def _nonfinite(self, problem: str, state_finite: bool) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if self.config.on_nonfinite == "stop":
            raise NonFiniteError(f"{problem}; the update was not applied. {self._kept()} "
                                 "(use --on-nonfinite skip to skip such updates)")
        self.state.skipped += 1
        if not state_finite:
            self.stepper.drop_state()   # the carried state holds NaN/inf: restart it from zeros
        self._say(f"warning: {problem}; update skipped ({self.state.skipped} so far)")

    def _kept(self) -> str:
        last = self.checkpoint_dir("last") if self.run_dir else None
        if last is None or not last.exists():
            return "No checkpoint was written."
        return f"The last good checkpoint ({last}) is kept unchanged."

    def _probe(self, batch: Any) -> None:
        run = getattr(self.stepper, "probe", None)
        if run is None or batch is EMPTY or (self.dist and not self.dist.is_main):
            return
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            result = D.probe(self.model, lambda: run(self.model, batch, autocast=self.precision.autocast))
        self.optimizer.zero_grad(set_to_none=True)
        for cb in self.callbacks:
            cb.on_probe(self, result)

    def _evaluate(self) -> None:
        st = self.state
        if self.evaluate is None:
            return
        metrics = self.evaluate(self.model)
        if self.dist:                         # every rank evaluates; rank 0's numbers decide for all
            metrics = self.dist.broadcast(metrics)
        self.model.train()
        st.last_eval_step = st.step
        value = float(metrics[self.primary])
        better = math.isfinite(value) and (st.best is None or (value > st.best if self.higher_is_better
                                                                else value < st.best))
        if better:
            st.best, st.best_step, st.evals_since_best = value, st.step, 0
            self.save("best")
        else:
            st.evals_since_best += 1
            if self.config.patience and st.evals_since_best >= self.config.patience:
                st.stop_reason = (f"early stopping: {self.primary} has not improved for {st.evals_since_best} "
                                  f"evaluations (best {st.best:.4f} at update {st.best_step})")
                self._say(st.stop_reason)
        for cb in self.callbacks:
            cb.on_eval(self, dict(metrics))

    def _say(self, message: str) -> None:
        if self.dist and not self.dist.is_main:
            return
        bar = next((cb for cb in self.callbacks if hasattr(cb, "write")), None)
        if bar is not None and bar.bar is not None:
            bar.write(message)
        else:
            print(message, file=sys.stderr, flush=True)   # stdout stays for results

    def _check_signal(self, signals: _SignalGuard) -> None:
        received = self.dist.agree_signal(signals.received) if self.dist else signals.received
        if received is None:
            return
        self.save("last")
        name = signal.Signals(received).name
        where = f" to {self.checkpoint_dir('last')}" if self.run_dir else ""
        raise TrainingInterrupted(f"interrupted by {name} at update {self.state.step} (epoch "
                                  f"{self.state.epoch + 1}); checkpoint saved{where}; continue with --resume",
                                  received)

    @property
    def epochs_done(self) -> float:
        """Progress in epochs, e.g. 1.25 a quarter into the second epoch."""
        return round(self.state.epoch + self.state.batch / max(len(self.data), 1), 4)

    # ---- checkpoints ------------------------------------------------------------------------------
    def checkpoint_dir(self, tag: str) -> Path:
        if self.run_dir is None:
            raise CheckpointError("this trainer has no run_dir, so it keeps no checkpoints")
        return self.run_dir / "checkpoints" / tag

    def save(self, tag: str) -> Path | None:
        """Write the `tag` checkpoint (atomically); a no-op without a run_dir."""
        if self.run_dir is None:
            return None
        self.state.seconds = self.previous_seconds + time.perf_counter() - self._session_start
        rng_tensors, rng_meta = rng_state()
        step_tensors, step_meta = self.stepper.state_dict()
        tensors = {**rng_tensors, **{f"stepper.{k}": v.detach().cpu() for k, v in step_tensors.items()}}
        own = {"rng": rng_meta, "stepper": step_meta}
        if self.dist:                          # rank 0 writes one checkpoint with every rank's part
            parts = self.dist.gather((tensors, own))
            if not self.dist.is_main:
                return self.dist.run_on_main(lambda: None, f"write the {tag!r} checkpoint")
            tensors, own = _distributed.pack_ranks(parts)
        scaler = self.precision.scaler
        meta = {"run": self.run_config, "task_meta": self.meta, "train_config": self.config.to_dict(),
                "trainer": dataclasses.asdict(self.state), **own,
                "optimizer": split_state(self.optimizer.state_dict(), "optim", tensors),
                "scheduler": split_state(self.scheduler.state_dict(), "sched", tensors),
                "scaler": split_state(scaler.state_dict(), "scaler", tensors) if scaler is not None else None,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        write = lambda: save_checkpoint(self.checkpoint_dir(tag), self.model.state_dict(), tensors, meta)  # noqa: E731
        return self.dist.run_on_main(write, f"write the {tag!r} checkpoint") if self.dist else write()

    def restore(self, folder: str | Path) -> None:
        """Continue from a checkpoint written by `save` (weights, optimizer, counters, stream state, RNG)."""
        ck = load_checkpoint(folder)
        meta = ck.meta
        rank, world = (self.dist.rank, self.dist.world_size) if self.dist else (0, 1)
        own_tensors, own = _distributed.unpack_rank(ck.tensors, meta, rank, world, ck.path)
        if self.dist:
            self.dist.check_same((meta["trainer"].get("step"), meta.get("saved_at")), lambda got: (
                f"the ranks read different checkpoints from {ck.path}: " + ", ".join(
                    f"rank {r} update {s}" for r, (s, _) in enumerate(got))
                + "; every machine must see the same run folder (a shared filesystem)"), CheckpointError)
        load_model_state(self.model, ck.model, ck.path)
        try:
            self.optimizer.load_state_dict(join_state(meta["optimizer"], ck.tensors))
            self.scheduler.load_state_dict(join_state(meta["scheduler"], ck.tensors))
            if self.precision.scaler is not None and meta.get("scaler"):
                self.precision.scaler.load_state_dict(join_state(meta["scaler"], ck.tensors))
            self.state = TrainState(**meta["trainer"])
        except (KeyError, ValueError, TypeError) as e:
            raise CheckpointError(f"{ck.path} cannot resume this run: its optimizer or trainer state does not "
                                  f"fit ({e})") from None
        self.previous_seconds = self.state.seconds
        prefix = "stepper."
        self.stepper.load_state_dict(self.model, {k[len(prefix):]: v for k, v in own_tensors.items()
                                                  if k.startswith(prefix)}, own["stepper"],
                                     autocast=self.precision.autocast)
        set_rng_state(own_tensors, own["rng"])   # after the stepper, whose replay draws random numbers


class _SignalGuard:
    """Turn the first SIGINT/SIGTERM into a flag the loop checks between updates; a second one aborts.

    Under torchrun a second signal is normal (Ctrl-C reaches the workers, then the agent sends SIGTERM),
    so there it is ignored: the agent kills workers that have not stopped 30 s later anyway.
    """

    def __init__(self, abort_on_second: bool = True) -> None:
        self.received: int | None = None
        self.abort_on_second = abort_on_second
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum
        elif self.abort_on_second:               # second signal: stop now (checkpoints stay consistent)
            raise KeyboardInterrupt

    def __enter__(self) -> _SignalGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
