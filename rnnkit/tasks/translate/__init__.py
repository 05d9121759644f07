"""The `translate` task: encoder-decoder translation; see `rnnkit.tasks.translate.task`."""

from rnnkit.tasks.translate.config import TranslateConfig
from rnnkit.tasks.translate.task import Translate, TranslateData

__all__ = ["Translate", "TranslateConfig", "TranslateData"]
