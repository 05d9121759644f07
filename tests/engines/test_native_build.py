"""Building the compiled loops: a build folder per source, and no waiting on a dead build's lock."""

from __future__ import annotations

import contextlib

from torch.utils import cpp_extension

from rnnkit.engines import native


def fake_build(tmp_path, monkeypatch) -> dict:
    """Run native._build with cpp_extension's folder and compiler replaced; record what load saw."""
    seen: dict = {}

    def folder(name, verbose):
        path = tmp_path / name
        path.mkdir(exist_ok=True)
        seen.setdefault("names", []).append(name)
        return str(path)

    def load(name, **kw):
        seen["stale lock at load"] = (tmp_path / name / "lock").exists()

    monkeypatch.setattr(cpp_extension, "_get_build_directory", folder)
    monkeypatch.setattr(cpp_extension, "load", load)
    with contextlib.suppress(RuntimeError):    # the ops check, where no compiled library is loaded here
        native._build()
    return seen


def test_a_lock_file_left_by_a_killed_build_is_removed_before_loading(tmp_path, monkeypatch):
    name = fake_build(tmp_path, monkeypatch)["names"][0]
    (tmp_path / name / "lock").write_text("")           # what cpp_extension leaves when killed mid-build
    assert fake_build(tmp_path, monkeypatch)["stale lock at load"] is False


def test_another_source_builds_in_another_folder(tmp_path, monkeypatch):
    first = fake_build(tmp_path, monkeypatch)["names"][0]
    changed = tmp_path / "recurrence.cpp"
    changed.write_bytes(native._SOURCE.read_bytes() + b"\n// changed\n")
    monkeypatch.setattr(native, "_SOURCE", changed)
    assert fake_build(tmp_path, monkeypatch)["names"][0] != first
