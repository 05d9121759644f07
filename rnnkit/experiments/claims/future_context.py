"""Claim 8: a one-directional RNN cannot use inputs that come after the current step."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torch import nn

from rnnkit.experiments.common import SeqModel, accuracy, fit, generator, seeded
from rnnkit.experiments.result import Check, ClaimResult, decide

ID = "future_context"
TITLE = "No future context in a one-directional RNN"
STATEMENT = (
    "The output of a one-directional RNN at step t depends only on inputs up to t, so a target that depends "
    "on a later input stays at chance however it is trained; a bidirectional RNN, which also reads the "
    "sequence backwards, learns it."
)
METHOD = (
    "Sequences of 20 random symbols out of 4 (one-hot). Future task: at every step t output the symbol at "
    "t + 2 (the last two steps are not scored). Past task (control): output the symbol at t - 2. For each "
    "task a unidirectional and a bidirectional LSTM (16 units per direction, per-step linear read-out) are "
    "trained with Adam (lr 1e-2) and scored on fresh sequences."
)
SYMBOLS, T, SHIFT = 4, 20, 2
CHANCE = 1 / SYMBOLS
THRESHOLD = {
    "solved_min_accuracy": 0.9,          # a model "solves" a task at this per-step accuracy
    "chance_max_accuracy": CHANCE + 0.1,  # the unidirectional model on the future task stays below this
}
CONFIG = {True: {"steps": 300}, False: {"steps": 1000}}


def shifted_batch(gen: torch.Generator, batch: int, shift: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x (B, T, 4) one-hot symbols; y (B, T - |shift|): the symbol at t + shift for each scored step t."""
    seq = torch.randint(SYMBOLS, (batch, T), generator=gen)
    x = nn.functional.one_hot(seq, SYMBOLS).float()
    y = seq[:, shift:] if shift > 0 else seq[:, :T + shift]
    return x, y


class Tagger(nn.Module):
    """Per-step classifier whose scored steps are the first T - shift (future) or last T - shift (past)."""

    def __init__(self, bidirectional: bool, shift: int) -> None:
        super().__init__()
        self.shift = shift
        self.net = SeqModel("lstm", SYMBOLS, 16, SYMBOLS, every_step=True, bidirectional=bidirectional,
                            forget_bias=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)                                  # (B, T, 4)
        return out[:, :T - self.shift] if self.shift > 0 else out[:, -self.shift:]


def run(quick: bool, seed: int) -> ClaimResult:
    cfg = CONFIG[quick]
    m: dict = {"chance": CHANCE, "shift": SHIFT}
    curves = {}
    for task, shift in (("future", SHIFT), ("past", -SHIFT)):
        for bi in (False, True):
            name = f"{task}_{'bidirectional' if bi else 'unidirectional'}"
            with seeded(seed):
                model = Tagger(bi, shift)
                gen = generator(seed + 1)
                curves[name] = fit(model, lambda g=gen, s=shift: shifted_batch(g, 64, s), cfg["steps"], lr=1e-2)
                test_gen = generator(seed + 2)
                m[f"accuracy_{name}"] = accuracy(model, lambda g=test_gen, s=shift: shifted_batch(g, 256, s))
                m[f"final_loss_{name}"] = sum(curves[name][-20:]) / 20
    return ClaimResult(m, _figure(m, curves))


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t = THRESHOLD
    controls = [Check(f"past task (t - {m['shift']}): {d} accuracy", m[f"accuracy_past_{d}"], ">=",
                      t["solved_min_accuracy"]) for d in ("unidirectional", "bidirectional")]
    tests = [
        Check(f"future task (t + {m['shift']}): unidirectional accuracy", m["accuracy_future_unidirectional"], "<",
              t["chance_max_accuracy"]),
        Check(f"future task (t + {m['shift']}): bidirectional accuracy", m["accuracy_future_bidirectional"], ">=",
              t["solved_min_accuracy"]),
    ]
    return controls, tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _figure(m: dict, curves: dict):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
    styles = {"future_unidirectional": ("tab:red", "-"), "future_bidirectional": ("tab:blue", "-"),
              "past_unidirectional": ("tab:red", ":"), "past_bidirectional": ("tab:blue", ":")}
    for name, (color, ls) in styles.items():
        a1.plot(curves[name], color=color, ls=ls, lw=1, label=name.replace("_", ", "))
    a1.set_xlabel("update")
    a1.set_ylabel("training loss (cross-entropy)")
    a1.set_title("Training curves")
    a1.legend(fontsize=8)
    names = list(styles)
    a2.bar(range(4), [m[f"accuracy_{n}"] for n in names], color=[styles[n][0] for n in names],
           alpha=0.8, hatch=None)
    a2.set_xticks(range(4))
    a2.set_xticklabels([n.replace("_", "\n") for n in names], fontsize=8)
    a2.axhline(m["chance"], color="gray", ls=":", label="chance")
    a2.set_ylim(0, 1.05)
    a2.set_ylabel("held-out per-step accuracy")
    a2.set_title(f"Predict the symbol {m['shift']} steps ahead / behind")
    a2.legend(fontsize=8)
    fig.tight_layout()
    return fig
