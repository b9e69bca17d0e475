"""Shared inference maths: Wald intervals, covariance helpers, bootstrap and permutation."""

from .basic import normal_ci, t_ci, wald_test

__all__ = ["normal_ci", "t_ci", "wald_test"]
