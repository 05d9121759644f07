"""User captioning data: a folder of images and a CSV `file,caption[,split]` beside (or above) them.

    file,caption
    photos/cat.png,a black cat on a sofa
    photos/cat.png,a cat sleeping            <- several rows for one image: several references
    photos/dog.jpg,a dog running on grass

Paths are relative to the CSV. Any format Pillow reads works; every image is resized to
`size` x `size` and read as grayscale (channels=1) or RGB (channels=3). Without a `split` column the
images are split 80/10/10 at random (seeded), by image. See `manifest` for the checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.tasks.caption.data import SPLITS, CaptionData, CaptionSet
from rnnkit.tasks.caption.images import load_image
from rnnkit.tasks.caption.vocab import normalize, tokenize
from rnnkit.tasks.vision.manifest import assign_splits, read_manifest
from rnnkit.training.errors import DataError


def load_caption_csv(path: str | Path, size: int = 32, channels: int = 3, seed: int = 0) -> CaptionData:
    """The images and captions a `file,caption[,split]` CSV lists, split three ways."""
    path = Path(path)
    rows = read_manifest(path, "caption")
    for r in rows:
        if not any(t.isalnum() for t in tokenize(r.value)):
            raise DataError(f"{path}, line {r.line}: the caption has no words (letters or digits)")
    split_of = assign_splits(rows, path, seed)
    refs: dict[Path, list[str]] = {}
    first: dict[Path, tuple[int, str]] = {}        # the line and name that first list each file
    for r in rows:
        refs.setdefault(r.file, []).append(normalize(r.value))
        first.setdefault(r.file, (r.line, r.name))
    sets = {}
    for split in SPLITS:
        files = [f for f in refs if split_of[f] == split]
        images = np.stack([load_image(f, (channels, size, size), where=f"{path}, line {first[f][0]}: {first[f][1]}")
                           for f in files])
        sets[split] = CaptionSet(images, [refs[f] for f in files], [first[f][1] for f in files])
    return CaptionData(**sets, credits=[f"Captions and images: {path} (your data)"],
                       description=f"{len(refs)} images with {len(rows)} captions from {path}")
