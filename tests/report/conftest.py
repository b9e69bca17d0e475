"""Fixtures for report tests: one fitted result per registered method (cached per test run)."""

from __future__ import annotations

import inspect
import warnings
from importlib import import_module

import pytest

try:  # tests/ may or may not be a package
    from tests.cases import CASES, case_spec
except ImportError:  # pragma: no cover - depends on how pytest imports tests/
    from cases import CASES, case_spec

# Cheaper settings where a method offers them: reports need a result, not the most accurate one.
FAST_OPTIONS = {
    "dml": {"learner_y": "linear", "learner_d": "linear", "n_folds": 2, "refute": False},
    "ipw": {"learner_d": "linear", "n_folds": 2},
    "psm": {"learner_d": "linear", "n_folds": 2},
}

_CACHE: dict[str, object] = {}


def _estimator_class(method: str):
    from causal_kit.estimators import ESTIMATORS

    module_name, _, cls_name = ESTIMATORS[method].partition(":")
    return getattr(import_module(module_name), cls_name)


def fit_case(method: str):
    """The bundled example of ``method`` (tests/cases.py), fitted once per test run."""
    if method not in _CACHE:
        from causal_kit import datasets

        cls = _estimator_class(method)
        params = inspect.signature(cls.__init__).parameters
        options = {k: v for k, v in FAST_OPTIONS.get(method, {}).items() if k in params}
        data = datasets.load(CASES[method][0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _CACHE[method] = cls(**options).fit(data, case_spec(method))
    return _CACHE[method]


@pytest.fixture(scope="session")
def fitted():
    return fit_case


_HTML: dict[str, str] = {}


def render_case(method: str) -> str:
    """The effect report of ``method``'s bundled example, rendered once per test run."""
    if method not in _HTML:
        from causal_kit.report import render

        _HTML[method] = render(fit_case(method))
    return _HTML[method]
