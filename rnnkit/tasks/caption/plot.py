"""A grid of test images with the generated caption (green when exact, red otherwise) and the truth."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from rnnkit.training.plots import save_figure


def plot_captions(images: np.ndarray, generated: list[str], references: list[list[str]], path: str | Path,
                  title: str = "", columns: int = 4, invert: bool = False) -> Path:
    """Save the grid as a PNG at `path` (matplotlib, Agg backend) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    rows = -(-n // columns)
    C, H, W = images.shape[1:]
    cell_w = 3.2
    cell_h = cell_w * H / W + 0.9
    fig, axes = plt.subplots(rows, columns, figsize=(columns * cell_w, rows * cell_h), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, ax in enumerate(axes.flat[:n]):
        img = 1.0 - images[i] if invert else images[i]
        if C == 1:
            ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(np.clip(img.transpose(1, 2, 0), 0, 1))
        ok = generated[i] in references[i]
        wrap = lambda s: "\n".join(textwrap.wrap(s, 34)[:2])  # noqa: E731
        ax.set_title(f"{wrap(generated[i])}\ntrue: {wrap(references[i][0])}", fontsize=7,
                     color="green" if ok else "firebrick")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
