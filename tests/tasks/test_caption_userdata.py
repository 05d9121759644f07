"""User captioning data: a folder of images and a CSV file,caption[,split]; malformed input gets one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rnnkit.tasks.caption.images import load_image
from rnnkit.tasks.caption.userdata import load_caption_csv
from rnnkit.training.errors import DataError


def _png(path: Path, color, size=(10, 8), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    for i, color in enumerate(["red", "green", "blue", "white", "black"]):
        _png(tmp_path / "img" / f"{i}.png", color)
    return tmp_path


def _csv(folder: Path, text: str, name: str = "captions.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = ("file,caption\nimg/0.png,A red square\nimg/0.png,something red\nimg/1.png,a green square\n"
        "img/2.png,a blue square\nimg/3.png,a white square\nimg/4.png,a black square\n")


def test_loads_images_and_groups_references_by_file(folder):
    data = load_caption_csv(_csv(folder, GOOD), size=12, channels=3)
    all_names = data.train.names + data.valid.names + data.test.names
    assert sorted(all_names) == [f"img/{i}.png" for i in range(5)]
    assert min(len(data.train), len(data.valid), len(data.test)) >= 1
    split = next(s for s in (data.train, data.valid, data.test) if "img/0.png" in s.names)
    assert split.references[split.names.index("img/0.png")] == ["a red square", "something red"]
    assert data.train.images.shape[1:] == (3, 12, 12)


def test_split_column_decides_the_splits(folder):
    text = ("file,caption,split\nimg/0.png,red,train\nimg/1.png,green,train\nimg/2.png,blue,valid\n"
            "img/3.png,white,test\n")
    data = load_caption_csv(_csv(folder, text), size=8, channels=1)
    assert data.train.names == ["img/0.png", "img/1.png"] and data.test.names == ["img/3.png"]
    assert data.test.images.shape == (1, 1, 8, 8) and data.test.images.min() == pytest.approx(1.0)


def test_load_image_composites_transparency_on_white(tmp_path):
    path = _png(tmp_path / "t.png", (0, 0, 0, 0), mode="RGBA")
    assert np.allclose(load_image(path, (3, 4, 4)), 1.0)
    assert np.allclose(load_image(path, (1, 4, 4), invert=True), 0.0)


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("image,caption\nimg/0.png,red\n", "line 1: the header must name the columns file,caption"),
    ("file,caption\nimg/0.png,red\nimg/1.png\n", "line 3: expected 2 fields"),
    ("file,caption\nimg/0.png,red\n,green\n", "line 3: the file field is empty"),
    ("file,caption\nimg/0.png,red\nimg/1.png,  \n", "line 3: the caption field is empty"),
    ("file,caption\nimg/0.png,red\nimg/9.png,nine\n", "line 3: 'img/9.png' not found"),
    ("file,caption\nimg/0.png,red\nimg/1.png,!!!\n", "line 3: the caption has no words"),
    ("file,caption,split\nimg/0.png,red,train\nimg/1.png,green,dev\n", "line 3: split must be train, valid or test"),
    ("file,caption,split\nimg/0.png,red,train\nimg/0.png,rot,test\n", "line 3: 'img/0.png' was put in the train"),
    ("file,caption,split\nimg/0.png,red,train\nimg/1.png,green,test\n", "the valid split(s) have no file"),
    ("file,caption\nimg/0.png,red\nimg/1.png,green\n", "at least 3 are needed"),
    ("file,caption\nnotes.txt,text\nimg/1.png,g\nimg/2.png,b\n", "line 2: notes.txt: not a readable image"),
])
def test_malformed_csv_gets_one_line_naming_file_and_line(folder, text, message):
    (folder / "notes.txt").write_text("not an image")
    path = _csv(folder, text)
    with pytest.raises(DataError) as e:
        load_caption_csv(path)
    assert message in str(e.value) and str(path) in str(e.value) and "\n" not in str(e.value)


def test_missing_and_undecodable_csv_files_are_refused(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_caption_csv(tmp_path / "none.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("file,caption\nimg.png,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        load_caption_csv(bad)
