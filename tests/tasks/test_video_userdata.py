"""User video data: .npy clips listed in a CSV file,label[,split]; malformed input gets one clear line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnkit.tasks.video.userdata import load_clip, load_clip_csv
from rnnkit.training.errors import DataError


@pytest.fixture
def folder(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    (tmp_path / "clips").mkdir()
    for i in range(6):
        T = 4 + i % 3
        clip = (rng.random((T, 6, 5)) * 255).astype(np.uint8) if i % 2 else rng.random((T, 6, 5, 1))
        np.save(tmp_path / "clips" / f"{i}.npy", clip)
    return tmp_path


def _csv(folder: Path, text: str) -> Path:
    path = folder / "clips.csv"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "file,label,split\n" + "".join(
    f"clips/{i}.npy,{'wave' if i % 2 else 'clap'},{['train', 'train', 'train', 'train', 'valid', 'test'][i]}\n"
    for i in range(6))


def test_loads_variable_length_clips_with_their_labels(folder):
    data = load_clip_csv(_csv(folder, GOOD))
    assert data.classes == ["clap", "wave"]
    assert data.train.clips.shape == (4, 6, 1, 6, 5)             # padded to the longest training clip
    assert data.train.lengths.tolist() == [4, 5, 6, 4]
    assert data.train.labels.tolist() == [0, 1, 0, 1]
    assert np.all(data.train.clips[0, 4:] == 0)                   # padding frames are zero
    assert data.train.clips.min() >= 0 and data.train.clips.max() <= 1


def test_classes_of_a_trained_model_fix_the_label_ids(folder):
    data = load_clip_csv(_csv(folder, GOOD), classes=["wave", "clap", "jump"])
    assert data.train.labels.tolist() == [1, 0, 1, 0]


def test_load_clip_accepts_channels_last_color_and_uint8(tmp_path):
    np.save(tmp_path / "c.npy", np.full((3, 4, 5, 3), 255, np.uint8))
    clip = load_clip(tmp_path / "c.npy")
    assert clip.shape == (3, 3, 4, 5) and clip.dtype == np.float32 and np.all(clip == 1.0)


@pytest.mark.parametrize(("array", "message"), [
    (np.zeros((4, 5)), "expected a clip of shape (T, H, W) or (T, H, W, C)"),
    (np.zeros((4, 5, 5, 2)), "expected a clip of shape"),
    (np.zeros((0, 5, 5)), "the clip is empty"),
    (np.zeros((3, 5, 5), np.int32), "expected dtype uint8 (0..255) or float, got int32"),
    (np.array([[[0.0, np.nan]]] * 2), "non-finite value (NaN or inf) in frame 0"),
    (np.array([{"a": 1}], dtype=object), "not a NumPy .npy array of numbers"),
])
def test_malformed_clip_is_refused_in_one_line(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array, allow_pickle=True)
    with pytest.raises(DataError) as e:
        load_clip(path, where="clips.csv, line 7: bad.npy")
    text = str(e.value)
    assert message in text and text.startswith("clips.csv, line 7: bad.npy") and "\n" not in text


def test_not_an_npy_file_is_refused(tmp_path):
    (tmp_path / "x.npy").write_text("hello")
    with pytest.raises(DataError, match=r"x\.npy: not a \.npy file; a clip is an array saved with numpy\.save"):
        load_clip(tmp_path / "x.npy")
    (tmp_path / "clips.csv").write_text("file,label\na.npy,up\n")
    with pytest.raises(DataError, match=r"clips\.csv: not a \.npy file"):
        load_clip(tmp_path / "clips.csv")
    np.savez(tmp_path / "y.npz", a=np.zeros(3))
    with pytest.raises(DataError, match=r"\.npz archive"):
        load_clip(tmp_path / "y.npz")


@pytest.mark.parametrize(("text", "message"), [
    ("file\nclips/0.npy\n", "line 1: the header must name the columns file,label"),
    ("file,label\nclips/0.npy,\n", "line 2: the label field is empty"),
    ("file,label\nclips/0.npy,a\nclips/7.npy,b\n", "line 3: 'clips/7.npy' not found"),
    ("file,label\nclips/0.npy,a\nclips/1.npy,b\nclips/0.npy,c\n", "line 4: 'clips/0.npy' is listed twice"),
    ("file,label,split\nclips/0.npy,a,train\nclips/1.npy,b,valid\nclips/2.npy,b,test\n",
     "line 3: label 'b' is not a training label"),
    ("file,label\nclips/0.npy,a\nclips/1.npy,b\nclips/2.npy,a\nclips/big.npy,b\n",
     "line 5: clips/big.npy has frames of (C, H, W) = (1, 7, 5)"),
])
def test_malformed_csv_gets_one_line_naming_file_and_line(folder, text, message):
    np.save(folder / "clips" / "big.npy", np.zeros((3, 7, 5)))
    path = _csv(folder, text)
    with pytest.raises(DataError) as e:
        load_clip_csv(path)
    assert message in str(e.value) and str(path) in str(e.value) and "\n" not in str(e.value)


def test_training_clips_of_a_single_label_are_refused(folder):
    with pytest.raises(DataError, match=r"the training clips have 1 label\(s\) \(wave\); a classifier needs"):
        load_clip_csv(_csv(folder, GOOD.replace("clap", "wave")))


def test_without_a_split_column_each_split_keeps_the_label_mix(tmp_path):
    from rnnkit.tasks.vision.manifest import Row, assign_splits

    rows = [Row(i + 2, tmp_path / f"{i}.npy", f"{i}.npy", "left" if i < 30 else "right", None) for i in range(60)]
    for seed in range(10):
        split_of = assign_splits(rows, tmp_path / "clips.csv", seed=seed, stratify=True)
        for split, want in (("train", 24), ("valid", 3), ("test", 3)):
            labels = [r.value for r in rows if split_of[r.file] == split]
            assert labels.count("left") == want and labels.count("right") == want, (seed, split, labels)
