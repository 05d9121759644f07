"""The `sentiment` task: sentence classification (many-to-one); see `rnnkit.tasks.sentiment.task`."""

from rnnkit.tasks.sentiment.config import SentimentConfig
from rnnkit.tasks.sentiment.task import Sentiment, SentimentData

__all__ = ["Sentiment", "SentimentConfig", "SentimentData"]
