"""Learner stand-ins for tests that need exact, hand-checkable nuisance predictions."""

from __future__ import annotations

import numpy as np


class FixedPropensity:
    """A 'classifier' whose propensity is the first feature column, so hand checks and ties are exact."""

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        p = np.asarray(X)[:, 0]
        return np.column_stack([1 - p, p])

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self
