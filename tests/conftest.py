"""Shared fixtures: bundled datasets (loaded fresh per test so mutation checks are honest)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture
def load():
    from causal_kit import datasets

    return datasets.load
