"""A tiny TBPTT run for the distributed tests, the same code in one process or under torchrun.

    python worker.py OUT [--resume] [--send SIGKILL|SIGTERM --to-rank R --after STEP]
    torchrun --standalone --nproc_per_node 2 worker.py OUT ...

A character-level LSTM (float64) on a synthetic token stream of several documents: the first token of
each document carries no target, so the ranks hold different numbers of targets (the uneven case of
the gradient weighting). `--sequences`: full BPTT over shuffled independent sequences instead, 9 of
them in batches of 4, so the last batch of an epoch has one row and the second rank none. Each rank
writes its final parameters to OUT/params-rank{r}.safetensors.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import sys
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
import torch.nn.functional as F
from torch import nn

import rnnkit
from rnnkit.training import (
    IGNORE_INDEX,
    TBPTT,
    Callback,
    ContiguousStream,
    CSVLogger,
    FullBPTT,
    TrainConfig,
    Trainer,
    distributed,
    seed_everything,
    stream_loss,
)

VOCAB, ROWS, K1 = 7, 4, 4


class TinyLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 4, dtype=torch.float64)
        self.rnn = rnnkit.LSTM(4, 8, batch_first=True, dtype=torch.float64)
        self.head = nn.Linear(8, VOCAB, dtype=torch.float64)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embed(x), state)     # (B, T, H)
        return self.head(out), state                     # (B, T, V)


def token_loss(logits, y):
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE_INDEX, reduction="sum")
    return loss, (y != IGNORE_INDEX).sum()


def stream(n: int, rows: int, steps: int, seed: int, **kw) -> ContiguousStream:
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, VOCAB, (n,), generator=g)
    starts = torch.rand(n, generator=g) < 0.08
    starts[0] = True
    return ContiguousStream.language_model(tokens, rows, steps, starts=starts, **kw)


class Sequences:
    """Independent token sequences (x, y) in batches of `batch_size` rows, shuffled by (seed, epoch)."""

    def __init__(self, n: int, batch_size: int, steps: int) -> None:
        g = torch.Generator().manual_seed(3)
        self.tokens, self.batch_size = torch.randint(0, VOCAB, (n, steps + 1), generator=g), batch_size

    def __len__(self) -> int:
        return -(-len(self.tokens) // self.batch_size)

    def epoch(self, index: int, start: int = 0):
        order = torch.from_numpy(np.random.default_rng([0, index]).permutation(len(self.tokens)))
        for b in range(start, len(self)):
            rows = self.tokens[order[b * self.batch_size:(b + 1) * self.batch_size]]
            yield rows[:, :-1], rows[:, 1:]


def sequence_loss(model, batch):
    x, y = batch
    return token_loss(model(x)[0], y)


class Signal(Callback):
    """Send `sig` to this process on rank `rank` after update `at` (SIGKILL: a worker dying mid-run)."""

    all_ranks = True

    def __init__(self, sig: signal.Signals, rank: int, at: int) -> None:
        self.sig, self.rank, self.at = sig, rank, at

    def on_update(self, trainer, row):
        me = trainer.dist.rank if trainer.dist else 0
        if me == self.rank and row["step"] == self.at:
            os.kill(os.getpid(), self.sig)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out", type=Path)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--k2", type=int, default=6)
    p.add_argument("--sequences", action="store_true", help="full BPTT over independent sequences")
    # (names that no torchrun option starts with: torchrun's parser also reads abbreviations after the script)
    p.add_argument("--send", choices=("SIGKILL", "SIGTERM"), help="send this signal to one rank mid-run")
    p.add_argument("--to-rank", type=int, default=1, help="--send: the rank that gets it")
    p.add_argument("--after", type=int, default=8, help="--send: after this update")
    args = p.parse_args()
    torch.set_num_threads(1)
    seed_everything(0)
    model = TinyLM()
    if args.sequences:
        train, stepper = Sequences(9, ROWS, 6), FullBPTT(sequence_loss)                   # batches of 4, 4, 1
    else:
        train = stream(ROWS * K1 * 5 + 1, ROWS, K1, seed=1, drop_last=True, name="train")  # 5 batches an epoch
        stepper = TBPTT(K1, args.k2, token_loss)
    valid = stream(41, 2, 8, seed=2, pad=True, name="valid")
    cfg = TrainConfig(epochs=10, max_steps=args.steps, k1=K1, k2=args.k2, lr=0.02, eval_every=4, checkpoint_every=3,
                      progress=False, tensorboard=False, plots=False, device="cpu")

    def evaluate(m):
        total, count = stream_loss(m, valid, token_loss)
        return {"loss": total / count}

    callbacks = [CSVLogger(args.out / "logs")]
    if args.send:
        callbacks.append(Signal(signal.Signals[args.send], args.to_rank, args.after))
    trainer = Trainer(model, cfg, train, stepper, evaluate=evaluate, primary="loss",
                      run_dir=args.out, callbacks=callbacks)
    trainer.fit(resume=args.resume)
    rank = trainer.dist.rank if trainer.dist else 0
    params = {k: v.detach().clone() for k, v in model.state_dict().items()}
    safetensors.torch.save_file(params, str(args.out / f"params-rank{rank}.safetensors"))
    distributed.shutdown(wait=True)


if __name__ == "__main__":
    faulthandler.enable()     # a crash inside the C++ backend prints where each thread was
    try:
        main()
    except rnnkit.training.RnnkitError as e:    # one line, as the CLI prints it, before leaving the group
        print(f"worker: error: {e}", file=sys.stderr, flush=True)
        distributed.shutdown()
        raise SystemExit(1) from None
