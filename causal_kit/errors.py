"""Exception and warning types raised by causal_kit.

One root, ``CausalKitError``, with one subclass per stage: the spec (``SpecError``), the
data (``DataError``), identification (``IdentificationError``) and numerical fitting
(``ConvergenceError``), and the backends that run or store the work (``BackendError``).
``SpecError`` and ``DataError`` are also ``ValueError`` so that generic handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "CausalKitError",
    "SpecError",
    "DataError",
    "IdentificationError",
    "ConvergenceError",
    "BackendError",
    "CausalKitWarning",
    "RowsDroppedWarning",
    "DiagnosticWarning",
    "InferenceWarning",
]


class CausalKitError(Exception):
    """Root of every error causal_kit raises on purpose."""


class SpecError(CausalKitError, ValueError):
    """The experiment spec is malformed or incomplete for its design."""


class DataError(CausalKitError, ValueError):
    """The data do not fit the spec: missing columns, NaNs, wrong types, bad shape."""


class IdentificationError(CausalKitError):
    """The effect is not identified from these data (no controls, no pre-period, ...)."""


class ConvergenceError(CausalKitError):
    """A numerical routine failed to converge."""


class BackendError(CausalKitError, ConnectionError):
    """A compute or storage backend cannot be used: a Dask scheduler or database that cannot
    be reached, or an optional backend package that is not installed. Messages never show
    credentials."""


class CausalKitWarning(UserWarning):
    """Root of every warning causal_kit emits."""


class RowsDroppedWarning(CausalKitWarning):
    """Rows were dropped because the caller asked for it (``na_action="drop"``)."""


class DiagnosticWarning(CausalKitWarning):
    """A diagnostic found something the analyst should look at."""


class InferenceWarning(CausalKitWarning):
    """Inference fell back to another method or may be unreliable."""
