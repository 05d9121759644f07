"""One training run per folder at a time: an operating-system file lock held while a run writes there.

Two processes training into one folder would overwrite each other's checkpoints and interleave their
logs. `hold(run_dir)` takes an exclusive lock on `run_dir/.rnnkit.lock` (flock on Unix, LockFileEx on
Windows, through the `filelock` package) for as long as the trainer runs. The kernel drops the lock when
its process ends, however it ends (SIGKILL, power loss), so a crashed run never leaves the folder
locked. Within one process the lock is re-entrant (a CLI command and its trainer may both hold it).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from rnnkit.training.errors import ConfigError

LOCK_NAME = ".rnnkit.lock"
_held: dict[Path, tuple[FileLock, int]] = {}     # folders this process holds, with how many holders


def hold(run_dir: str | Path) -> Callable[[], None]:
    """Lock `run_dir` for this process (creating the folder); returns the function that lets it go.

    Raises ConfigError when another process holds it. A folder that cannot be locked at all (a file
    system without locks) is used unlocked, after a warning.
    """
    key = Path(run_dir).resolve()
    if key in _held:
        lock, count = _held[key]
        _held[key] = (lock, count + 1)
        return _releaser(key)
    if key.exists() and not key.is_dir():
        raise ConfigError(f"the run folder {run_dir} is a file; give the run a folder (new or holding a run)")
    key.mkdir(parents=True, exist_ok=True)
    lock = FileLock(key / LOCK_NAME, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise ConfigError(f"another process is training in {run_dir} (it holds {key / LOCK_NAME}); let it finish "
                          "or stop it, or give this run another folder") from None
    except (OSError, NotImplementedError) as e:     # a file system without locks
        warnings.warn(f"rnnkit: could not lock {run_dir} ({e}); make sure no other run writes there",
                      RuntimeWarning, stacklevel=2)
        return lambda: None
    _held[key] = (lock, 1)
    return _releaser(key)


def _releaser(key: Path) -> Callable[[], None]:
    """This holder's release: counts once however often it is called."""
    done = False

    def release() -> None:
        nonlocal done
        if not done:
            done = True
            _let_go(key)
    return release


def _let_go(key: Path) -> None:
    lock, count = _held[key]
    if count > 1:
        _held[key] = (lock, count - 1)
        return
    del _held[key]
    lock.release()
