"""The CTC alignment plot: a test utterance's log-mel spectrogram with, at each step, the likeliest symbol.

Per utterance two panels share the time axis: the spectrogram with the non-blank argmax symbols written
where they fire (CTC's spikes: a character takes one or a few steps, blanks fill the rest), and the
posterior of each symbol at each step (rows: the blank, then the characters that appear).

CTC fixes only the order of the spikes, not their timing: a bidirectional encoder, which has heard the
whole utterance, may fire a character before its sound (e.g. the first letters during leading silence);
a unidirectional one (--no-bidirectional) can only fire once it has heard enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.tasks.asr.alphabet import BLANK, Alphabet
from rnnkit.training.plots import save_figure


@dataclass
class Example:
    features: np.ndarray              # (T, n_mels) log-mel, not standardised
    log_probs: np.ndarray             # (T', V) the model's output
    reference: str
    hypothesis: str
    label: str                        # e.g. the speaker


def plot_alignments(examples: list[Example], alphabet: Alphabet, subsample: int, hop_ms: float,
                    path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2 * len(examples), 1, figsize=(13, 6 * len(examples)), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 2.5] * len(examples)})
    step_s = subsample * hop_ms / 1000
    for k, ex in enumerate(examples):
        spec_ax, post_ax = axes[2 * k, 0], axes[2 * k + 1, 0]
        seconds = len(ex.features) * hop_ms / 1000
        spec_ax.imshow(ex.features.T, origin="lower", aspect="auto", cmap="magma",
                       extent=(0, seconds, 0, ex.features.shape[1]))
        best = ex.log_probs.argmax(1)
        for t, s in enumerate(best.tolist()):
            if s != BLANK and (t == 0 or best[t - 1] != s):
                x = (t + 0.5) * step_s
                spec_ax.axvline(x, color="white", lw=0.6, alpha=0.6)
                spec_ax.text(x, ex.features.shape[1] * 0.93, alphabet.symbol(s), color="white", ha="center",
                             va="center", fontsize=11, fontweight="bold")
        spec_ax.set(ylabel="mel band", xlim=(0, max(seconds, len(best) * step_s)),
                    title=f"{ex.label}   reference: {ex.reference!r}\nhypothesis (greedy): {ex.hypothesis!r}")
        probs = np.exp(ex.log_probs).T                                        # (V, T')
        rows = [BLANK] + [i for i in range(1, len(probs)) if probs[i].max() > 0.05]   # symbols that show up
        post_ax.imshow(probs[rows], origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1,
                       extent=(0, len(best) * step_s, -0.5, len(rows) - 0.5), interpolation="nearest")
        post_ax.set_yticks(range(len(rows)), [alphabet.symbol(i) for i in rows], fontsize=8)
        post_ax.set(xlabel="seconds", ylabel="symbol", xlim=spec_ax.get_xlim(),
                    title=f"CTC posteriors per {step_s * 1000:.0f} ms step (black = probability 1; '_' blank; "
                          "symbols above 0.05 somewhere)")
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)
