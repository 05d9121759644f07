"""Baselines fitted in the same run: the majority class, and a bag-of-words logistic regression.

The bag-of-words model (scikit-learn) sees which word n-grams a sentence contains (binary counts of
unigrams and, by default, bigrams: word order only within two words) and fits an L2-regularised
logistic regression. Its inverse regularisation strength C is chosen on the validation split from a
small grid, as the recurrent model's best epoch is; the test split is never used to choose anything.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)


class BagOfWords:
    """CountVectorizer(binary n-grams) + LogisticRegression, C picked on validation accuracy."""

    def __init__(self, ngrams: int = 2, lowercase: bool = True) -> None:
        self.ngrams, self.lowercase = ngrams, lowercase
        self.vectorizer: CountVectorizer | None = None
        self.model: LogisticRegression | None = None
        self.C: float | None = None

    def fit(self, texts: list[str], labels: np.ndarray, valid_texts: list[str], valid_labels: np.ndarray
            ) -> BagOfWords:
        self.vectorizer = CountVectorizer(ngram_range=(1, self.ngrams), binary=True, lowercase=self.lowercase)
        X = self.vectorizer.fit_transform(texts)
        Xv = self.vectorizer.transform(valid_texts)
        best = -1.0
        # liblinear for two classes; more classes need a multinomial solver (liblinear refuses them)
        solver = "liblinear" if len(np.unique(labels)) <= 2 else "lbfgs"
        for C in C_GRID:
            model = LogisticRegression(C=C, solver=solver, max_iter=5000).fit(X, labels)
            score = float((model.predict(Xv) == valid_labels).mean())
            if score > best:
                best, self.C, self.model = score, C, model
        return self

    def predict(self, texts: list[str]) -> np.ndarray:
        if self.model is None or self.vectorizer is None:
            raise RuntimeError("call fit() first")
        return self.model.predict(self.vectorizer.transform(texts))


def majority(train_labels: np.ndarray, n: int) -> np.ndarray:
    """The most frequent training class, n times."""
    return np.full(n, int(np.bincount(train_labels).argmax()), dtype=np.int64)
