"""asr user data: a folder of WAV files with transcripts.tsv; every bad file or row is one line naming it."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from rnnkit.cli.main import main
from rnnkit.tasks.asr.alphabet import DEFAULT_ALPHABET, Alphabet
from rnnkit.tasks.asr.audio import read_audio
from rnnkit.tasks.asr.features import FeatureSpec
from rnnkit.tasks.asr.userdata import load_user_data, read_transcripts
from rnnkit.training.errors import DataError

SR = 16000
ALPHABET = Alphabet(DEFAULT_ALPHABET)
FAST = ["--threads", "1", "--no-progress", "--no-tensorboard", "--no-plots"]


def speech_like(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * rng.uniform(150, 400) * t) + rng.normal(0, 0.02, len(t))).astype(np.float32)


def make_folder(root, rows: list[tuple[str, str, str]], header: str = "file\ttext\tspeaker"):
    for name, _, _ in rows:
        soundfile.write(root / name, speech_like(seed=sum(name.encode())), SR)
    body = "\n".join("\t".join(r) for r in rows)
    (root / "transcripts.tsv").write_text(f"{header}\n{body}\n", encoding="utf-8")
    return root


def good_rows(n_speakers: int = 5, per: int = 2) -> list[tuple[str, str, str]]:
    return [(f"s{s}_{k}.wav", "forty two", f"spk{s}") for s in range(n_speakers) for k in range(per)]


# ---- audio files --------------------------------------------------------------------------------------
def test_a_file_that_is_not_audio_is_named_with_the_problem(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is text, not audio\n")
    with pytest.raises(DataError, match=r"notes\.wav: not a WAV file \(libsndfile: .+\)$"):
        read_audio(path, SR)


def test_a_wrong_sample_rate_is_refused_without_resample(tmp_path):
    path = tmp_path / "cd.wav"
    soundfile.write(path, speech_like(), 44100)
    with pytest.raises(DataError, match=r"cd\.wav: sample rate 44100 Hz, expected 16000 Hz \(pass --resample"):
        read_audio(path, SR)


def test_resample_converts_a_wrong_sample_rate(tmp_path):
    path = tmp_path / "cd.wav"
    soundfile.write(path, np.sin(np.arange(44100) * 2 * np.pi * 440 / 44100) * 0.3, 44100)   # one second
    assert abs(len(read_audio(path, SR, resample=True)) - SR) <= 1


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0, np.float32), SR)
    with pytest.raises(DataError, match=r"empty\.wav: empty audio \(no samples\)"):
        read_audio(path, SR)


def test_a_silent_file_is_refused(tmp_path):
    path = tmp_path / "silence.wav"
    soundfile.write(path, np.zeros(SR, np.float32), SR)
    with pytest.raises(DataError, match=r"silence\.wav: silent audio \(peak level -inf dBFS\)"):
        read_audio(path, SR)


def test_stereo_is_averaged_to_mono(tmp_path):
    path = tmp_path / "stereo.wav"
    left = speech_like()
    soundfile.write(path, np.stack([left, np.zeros_like(left)], 1), SR, subtype="FLOAT")
    np.testing.assert_allclose(read_audio(path, SR), left / 2, atol=1e-7)


# ---- transcripts --------------------------------------------------------------------------------------
def test_a_character_outside_the_alphabet_names_the_row(tmp_path):
    make_folder(tmp_path, [("a.wav", "forty two", "x"), ("b.wav", "42 apples", "x")])
    with pytest.raises(DataError, match=r"transcripts\.tsv line 3: transcript '42 apples' has character\(s\) "
                                        r"outside the alphabet: '2', '4'"):
        read_transcripts(tmp_path, ALPHABET)


def test_a_header_without_file_and_text_columns_is_refused(tmp_path):
    make_folder(tmp_path, [("a.wav", "one", "x")], header="path\ttranscript\tspeaker")
    with pytest.raises(DataError, match=r"transcripts\.tsv line 1: unknown column 'path' in the header"):
        read_transcripts(tmp_path, ALPHABET)


def test_a_row_with_the_wrong_number_of_fields_is_refused(tmp_path):
    make_folder(tmp_path, [("a.wav", "one", "x")])
    with open(tmp_path / "transcripts.tsv", "a", encoding="utf-8") as f:
        f.write("b.wav\ttwo\n")
    with pytest.raises(DataError, match=r"line 3: expected 3 tab-separated fields \(file, text, speaker\), got 2"):
        read_transcripts(tmp_path, ALPHABET)


def test_a_missing_transcript_file_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"no transcripts\.tsv"):
        read_transcripts(tmp_path, ALPHABET)


def test_a_file_listed_twice_is_refused(tmp_path):
    make_folder(tmp_path, [("a.wav", "one", "x"), ("a.wav", "two", "y")])
    with pytest.raises(DataError, match=r"line 3: a\.wav is listed twice \(first on line 2\)"):
        read_transcripts(tmp_path, ALPHABET)


def test_an_unknown_split_name_is_refused(tmp_path):
    make_folder(tmp_path, [("a.wav", "one", "training")], header="file\ttext\tsplit")
    with pytest.raises(DataError, match=r"line 2: split must be train, valid or test, got 'training'"):
        read_transcripts(tmp_path, ALPHABET)


def test_a_missing_audio_file_names_the_row(tmp_path):
    make_folder(tmp_path, good_rows())
    (tmp_path / "s0_1.wav").unlink()
    with pytest.raises(DataError, match=r"s0_1\.wav \(.*transcripts\.tsv line 3\): audio file not found"):
        load_user_data(tmp_path, ALPHABET, FeatureSpec(), resample=False, valid_fraction=0.2, test_fraction=0.2,
                       seed=0, progress=False)


# ---- splits -------------------------------------------------------------------------------------------
def test_whole_speakers_are_held_out_when_the_speaker_column_names_three_or_more(tmp_path):
    make_folder(tmp_path, good_rows(n_speakers=10))
    splits = load_user_data(tmp_path, ALPHABET, FeatureSpec(), resample=False, valid_fraction=0.1,
                            test_fraction=0.2, seed=0, progress=False)
    speakers = {name: set(part.speakers) for name, part in splits.items()}
    assert len(speakers["test"]) == 2 and len(speakers["valid"]) == 1 and len(speakers["train"]) == 7
    assert not speakers["test"] & speakers["train"] and not speakers["valid"] & speakers["train"]


def test_the_split_column_is_followed(tmp_path):
    rows = [("a.wav", "one", "train"), ("b.wav", "two", "train"), ("c.wav", "three", "valid"),
            ("d.wav", "four", "test")]
    make_folder(tmp_path, rows, header="file\ttext\tsplit")
    splits = load_user_data(tmp_path, ALPHABET, FeatureSpec(), resample=False, valid_fraction=0.1,
                            test_fraction=0.2, seed=0, progress=False)
    assert [splits[s].texts for s in ("train", "valid", "test")] == [["one", "two"], ["three"], ["four"]]


# ---- through the CLI ----------------------------------------------------------------------------------
def test_training_on_a_bad_file_stops_with_one_line(tmp_path, capsys):
    make_folder(tmp_path, good_rows())
    (tmp_path / "s2_0.wav").write_bytes(b"RIFF\x00\x00")
    assert main(["train", "--task", "asr", "--data", str(tmp_path), "--out", str(tmp_path / "run"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnkit: error: ") and "s2_0.wav" in err and "not a WAV file" in err and "\n" not in err


def test_audio_too_short_for_its_transcript_names_the_file(tmp_path, capsys):
    make_folder(tmp_path, good_rows())
    soundfile.write(tmp_path / "s1_1.wav", speech_like(0.1), SR)
    assert main(["train", "--task", "asr", "--data", str(tmp_path), "--out", str(tmp_path / "run"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert "s1_1.wav: 0.10 s of audio give 4 steps after subsampling by 3, but its transcript (9 characters) " \
           "needs 9: check the transcript, or lower --subsample" in err


def test_a_missing_folder_is_named_as_missing(tmp_path):
    with pytest.raises(DataError, match=r"nowhere: no such folder"):
        read_transcripts(tmp_path / "nowhere", ALPHABET)


def test_transcripts_that_are_not_utf8_name_the_line(tmp_path):
    make_folder(tmp_path, [("a.wav", "one", "x"), ("b.wav", "two", "x")])
    (tmp_path / "transcripts.tsv").write_bytes("file\ttext\tspeaker\na.wav\tone\tx\nb.wav\tcaf\u00e9\tx\n"
                                               .encode("latin-1"))
    with pytest.raises(DataError, match=r"transcripts\.tsv line 3: not UTF-8 text \(byte 0xe9\)"):
        read_transcripts(tmp_path, ALPHABET)


def test_a_folder_given_as_the_audio_file_is_named_as_a_folder(tmp_path):
    with pytest.raises(DataError, match=r": is a folder; expected a WAV file"):
        read_audio(tmp_path, SR)
