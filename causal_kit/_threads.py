"""Thread pools of causal_kit's own heavy calls, set by the library rather than the caller's shell.

Most of causal_kit's linear algebra is many small products (cohort Gram matrices, cell
weights, covariance blocks). Multi-threaded BLAS makes those slower, and much slower when
other processes share the cores (a Jupyter server, a scheduler worker): threads spin and
wait for each other. So :func:`causal_kit.estimate` runs the fits of panel designs (DiD,
event study, staggered DiD, synthetic control, SDID, trimmed match, ITS) with **one BLAS
thread** by default. Row-level designs (A/B, IV, RD, DML, surrogate) keep the process's BLAS
threads: their products run over every row, where threads do pay. The nuisance learners of DML get an explicit OpenMP thread count and
``n_jobs`` instead of whatever the environment says. At import causal_kit also sets
``OMP_WAIT_POLICY=PASSIVE`` unless the variable is already set, so idle OpenMP threads
sleep instead of spinning on a shared machine.

Override with :func:`set_threads` (``blas=1`` for every design, ``blas=None`` to leave BLAS
alone everywhere, ``blas="auto"`` for the default) or the environment variables
``CAUSAL_KIT_BLAS_THREADS`` and ``CAUSAL_KIT_LEARNER_THREADS``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["set_threads", "get_threads", "blas_threads", "learner_threads", "usable_cores"]

_UNSET: Any = object()
_CONFIG: dict[str, Any] = {}
#: designs whose products run over all rows: BLAS threads are left as the process has them
ROW_LEVEL_DESIGNS = frozenset({"ab", "iv", "rdd", "dml", "surrogate"})
_CONTROLLER: dict[str, Any] = {}


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # not on Linux
        return max(os.cpu_count() or 1, 1)


def _env_int(name: str, default: Any) -> Any:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() == "none":
        return None
    if raw.lower() == "auto" and default == "auto":
        return "auto"
    try:
        value = int(raw)
    except ValueError:
        from .errors import SpecError

        raise SpecError(f"environment variable {name}={raw!r} must be a positive integer, 'auto' or 'none'.") from None
    if value < 1:
        from .errors import SpecError

        raise SpecError(f"environment variable {name}={raw!r} must be a positive integer, 'auto' or 'none'.")
    return value


def get_threads() -> dict[str, Any]:
    """The thread counts causal_kit uses: ``{"blas": ..., "learners": ...}``.

    ``blas`` is the BLAS/LAPACK thread count during a fit (``"auto"``: one for panel designs,
    unchanged for row-level ones; ``None``: left as the process has it); ``learners`` the OpenMP threads and ``n_jobs`` of machine-learning nuisance models.

    Examples
    --------
    >>> from causal_kit import get_threads
    >>> sorted(get_threads())
    ['blas', 'learners']
    """
    if not _CONFIG:
        _CONFIG["blas"] = _env_int("CAUSAL_KIT_BLAS_THREADS", "auto")
        _CONFIG["learners"] = _env_int("CAUSAL_KIT_LEARNER_THREADS", usable_cores())
    return dict(_CONFIG)


def set_threads(*, blas: int | str | None = _UNSET, learners: int | None = _UNSET) -> dict[str, Any]:
    """Set the thread counts of causal_kit's heavy calls; returns the previous setting.

    Parameters
    ----------
    blas : int, "auto" or None
        BLAS threads during a fit. ``"auto"`` (default): one thread for panel designs, left as
        the process has it for row-level designs; ``None`` leaves BLAS alone everywhere.
    learners : int or None
        OpenMP threads and ``n_jobs`` of the DML nuisance learners (default: the usable
        cores; ``None`` leaves OpenMP as the process has it and uses one job).

    Examples
    --------
    >>> import causal_kit as ck
    >>> before = ck.set_threads(blas=2)
    >>> ck.get_threads()["blas"]
    2
    >>> _ = ck.set_threads(**before)
    """
    from .errors import SpecError

    previous = get_threads()
    for name, value in (("blas", blas), ("learners", learners)):
        if value is _UNSET:
            continue
        if name == "blas" and value == "auto":
            _CONFIG[name] = value
            continue
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            allowed = "None, 'auto' or an int >= 1" if name == "blas" else "None or an int >= 1"
            raise SpecError(f"The {name!r} parameter of set_threads must be {allowed}. Got {value!r} instead.")
        _CONFIG[name] = value
    return previous


def _controller() -> Any:
    """A cached threadpoolctl controller, rebuilt once scipy's own BLAS has been loaded."""
    from threadpoolctl import ThreadpoolController

    scipy_loaded = "scipy.linalg" in sys.modules
    if _CONTROLLER.get("scipy") is not scipy_loaded or "ctl" not in _CONTROLLER:
        _CONTROLLER["ctl"] = ThreadpoolController()
        _CONTROLLER["scipy"] = scipy_loaded
    return _CONTROLLER["ctl"]


@contextmanager
def blas_threads(n: int | None = _UNSET, *, design: str | None = None) -> Iterator[None]:
    """Run the block with ``n`` BLAS threads (default: :func:`get_threads` ``["blas"]``).

    With the ``"auto"`` setting, a fit of a row-level ``design`` leaves BLAS unchanged and
    any other runs with one thread.
    """
    n = get_threads()["blas"] if n is _UNSET else n
    if n == "auto":
        n = None if design in ROW_LEVEL_DESIGNS else 1
    if n is None:
        yield
        return
    with _controller().limit(limits=n, user_api="blas"):
        yield


@contextmanager
def learner_threads() -> Iterator[int]:
    """Run a learner fit with the configured OpenMP threads; yields the ``n_jobs`` to pass."""
    n = get_threads()["learners"]
    if n is None:
        yield 1
        return
    from threadpoolctl import threadpool_limits

    # a fresh look: the learner's OpenMP runtime is often loaded only now
    with threadpool_limits(limits=n, user_api="openmp"):
        yield n


def prefer_passive_openmp() -> None:
    """Idle OpenMP threads sleep instead of spinning, unless the caller chose otherwise."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
