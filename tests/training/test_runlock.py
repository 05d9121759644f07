"""One training run per folder: the lock a trainer holds, seen from other processes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rnnkit.training import ConfigError, runlock
from training.test_trainer import make

HOLDER = "import sys; from rnnkit.training import runlock; runlock.hold(sys.argv[1]); print('held', flush=True); " \
         "sys.stdin.read()"


@pytest.fixture
def other_process():
    """Start a process that holds a folder's lock until it is told to stop (or killed)."""
    procs = []

    def start(folder) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "held"
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_trainer_refuses_a_folder_another_process_trains_in(tmp_path, other_process):
    other_process(tmp_path)
    with pytest.raises(ConfigError, match=r"another process is training in .*let it finish or stop it"):
        make(tmp_path, epochs=1).fit()
    assert not (tmp_path / "checkpoints").exists()


def test_the_lock_goes_with_the_process_that_held_it_even_when_killed(tmp_path, other_process):
    holder = other_process(tmp_path)
    with pytest.raises(ConfigError):
        runlock.hold(tmp_path)
    holder.kill()                                  # SIGKILL on Unix, TerminateProcess on Windows
    holder.wait()
    state = make(tmp_path, epochs=1).fit()
    assert state.finished and (tmp_path / "checkpoints" / "last").is_dir()


def test_the_trainer_lets_the_folder_go_when_it_ends(tmp_path):
    make(tmp_path, epochs=1).fit()
    code = f"from rnnkit.training import runlock; runlock.hold({str(tmp_path)!r})()"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_lock_is_reentrant_in_one_process_and_each_release_counts_once(tmp_path):
    first = runlock.hold(tmp_path)
    second = runlock.hold(tmp_path)                 # e.g. a CLI command and the trainer it runs
    second()
    second()                                       # a second call of one release changes nothing
    assert runlock._held[tmp_path.resolve()][1] == 1
    first()
    assert tmp_path.resolve() not in runlock._held


def test_a_run_folder_that_is_a_file_is_refused_in_one_line(tmp_path):
    (tmp_path / "run").write_text("not a folder")
    with pytest.raises(ConfigError, match="is a file"):
        make(tmp_path / "run", epochs=1).fit()
