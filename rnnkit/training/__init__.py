"""Training: BPTT and TBPTT(k1, k2), contiguous streams, a generic trainer, checkpoints and diagnostics."""

from rnnkit.training.bptt import FullBPTT, Stepper, UpdateResult
from rnnkit.training.callbacks import Callback, CSVLogger, Plotter, ProgressBar, TensorBoardLogger, default_callbacks
from rnnkit.training.checkpoint import find_checkpoint, load_checkpoint, load_model_state, save_checkpoint
from rnnkit.training.config import Config, TrainConfig, option
from rnnkit.training.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    DistributedError,
    NonFiniteError,
    RnnkitError,
    TrainingInterrupted,
)
from rnnkit.training.runtime import Precision, resolve_device, seed_everything
from rnnkit.training.streams import IGNORE_INDEX, BatchList, ContiguousStream, StreamBatch
from rnnkit.training.tbptt import TBPTT, stream_loss
from rnnkit.training.trainer import Trainer, TrainState

__all__ = [
    "IGNORE_INDEX",
    "TBPTT",
    "BatchList",
    "CSVLogger",
    "Callback",
    "CheckpointError",
    "Config",
    "ConfigError",
    "ContiguousStream",
    "DataError",
    "DistributedError",
    "FullBPTT",
    "NonFiniteError",
    "Plotter",
    "Precision",
    "ProgressBar",
    "RnnkitError",
    "Stepper",
    "StreamBatch",
    "TensorBoardLogger",
    "TrainConfig",
    "TrainState",
    "Trainer",
    "TrainingInterrupted",
    "UpdateResult",
    "default_callbacks",
    "find_checkpoint",
    "load_checkpoint",
    "load_model_state",
    "option",
    "resolve_device",
    "save_checkpoint",
    "seed_everything",
    "stream_loss",
]
