"""Reading image files into the (C, H, W) float arrays the captioner takes.

Transparent pixels are composited on white (icons); the image is converted to grayscale (C=1) or
RGB (C=3), resized to the model's H x W (the aspect ratio is not kept; area averaging when
shrinking, so an image enlarged by `save_image` reads back as it was, bilinear when enlarging) and
scaled to [0, 1]. `invert` turns dark-on-light into light-on-dark, the convention of the digit
scans. Unreadable files raise one `DataError` line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.training.errors import DataError


def load_image(path: str | Path, shape: tuple[int, int, int], invert: bool = False, where: str = "") -> np.ndarray:
    """The image at `path` as a (C, H, W) float32 array in [0, 1] for shape = (C, H, W), C in {1, 3}."""
    from PIL import Image, UnidentifiedImageError

    C, H, W = shape
    place = where or str(path)
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "P", "PA") or "transparency" in im.info:
                rgba = im.convert("RGBA")
                im = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            shrink = im.width >= W and im.height >= H
            im = im.convert("L" if C == 1 else "RGB").resize((W, H), Image.BOX if shrink else Image.BILINEAR)
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise DataError(f"{place}: image file not found") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{place}: not a readable image ({' '.join(str(e).split()) or type(e).__name__})") from None
    arr = arr[None] if C == 1 else arr.transpose(2, 0, 1)
    return 1.0 - arr if invert else arr


def save_image(array: np.ndarray, path: str | Path, invert: bool = False, scale: int = 4) -> None:
    """Write a (C, H, W) array in [0, 1] as a PNG, enlarged `scale` times (for examples and demos)."""
    from PIL import Image

    a = 1.0 - array if invert else array
    a = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    im = Image.fromarray(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0))
    im.resize((im.width * scale, im.height * scale), Image.NEAREST).save(path)
