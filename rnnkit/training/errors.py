"""Errors a user can act on. The CLI prints their message as one line and exits nonzero, no traceback."""

from __future__ import annotations


class RnnkitError(Exception):
    """Base class: the message alone tells the user what is wrong and what to do."""


class ConfigError(RnnkitError, ValueError):
    """A configuration value is invalid or inconsistent (flags, TOML file or dataclass fields)."""


class DataError(RnnkitError, ValueError):
    """An input file is missing, empty, not decodable or malformed."""


class CheckpointError(RnnkitError):
    """A checkpoint is missing, corrupt, of another format, or does not match the model."""


class NonFiniteError(RnnkitError, FloatingPointError):
    """A loss, gradient or parameter became NaN or infinite; the update was not applied."""


class TrainingInterrupted(RnnkitError):
    """SIGINT or SIGTERM stopped training after the `last` checkpoint was saved."""

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.signal_number = signal_number


class DistributedError(RnnkitError):
    """A torchrun launch could not form its process group, or a rank lost contact with the others."""
