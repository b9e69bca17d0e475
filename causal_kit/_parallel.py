"""The one place that decides how embarrassingly parallel work runs: serially, on local
joblib workers, or on a Dask cluster.

Estimators, diagnostics and the design module call :func:`map_tasks` and :func:`spawn_seeds`
and never import joblib or dask themselves, so that a seeded result is the same whichever
way the tasks ran: each task gets its own child seed from :func:`spawn_seeds` (or a seed
fixed before the tasks are sent), and results come back in task order.

Which backend runs the tasks, first match wins:

1. ``backend=`` / ``address=`` passed to :func:`map_tasks`;
2. the innermost :func:`use_execution` block (``causal_kit.estimate`` and ``design.plan``
   open one from the spec's ``execution:`` block, the CLI from ``--dask ADDRESS``);
3. an active ``dask.distributed.Client`` in this process (``Client(...)`` or
   ``with Client(...):``);
4. ``n_jobs``: 1 runs serially, anything else on joblib workers.

Inside a task that already runs on a Dask worker, nested calls run serially, so a cluster is
never asked to schedule work from inside its own tasks.

Every task runs with single-threaded BLAS (``threadpoolctl``), wherever it runs: a
multi-threaded BLAS splits a long dot product differently from a single-threaded one, which
changes the last bits of the result; with one thread everywhere a seeded result is
bit-identical serially, on joblib and on Dask, and parallel tasks do not oversubscribe the
cores. Learners' own OpenMP pools are left alone.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np

from ._typing import ExecutionBackend, check_option
from .errors import BackendError

T = TypeVar("T")
R = TypeVar("R")

Prefer = Literal["processes", "threads"]

#: Seconds to wait for a Dask scheduler before giving up with :class:`BackendError`.
CONNECT_TIMEOUT = 8.0

#: Dask: tasks are sent in at most this many contiguous batches per worker.
_BATCHES_PER_WORKER = 4


@dataclass(frozen=True)
class Execution:
    """Where parallel work runs: the resolved form of a spec's ``execution:`` block."""

    backend: ExecutionBackend | None = None
    address: str | None = None
    n_jobs: int | None = None
    pinned: bool = False  # set by the command line: a spec's own execution block does not override it


_ACTIVE: contextvars.ContextVar[Execution | None] = contextvars.ContextVar("causal_kit_execution", default=None)
_CLIENTS: dict[str, Any] = {}
_LOCK = threading.Lock()
_BLAS_LOCK = threading.Lock()
_BLAS_STATE: dict[str, Any] = {"depth": 0, "saved": None}


def spawn_seeds(seed: int | np.random.SeedSequence | None, n: int) -> list[np.random.SeedSequence]:
    """Split one seed into ``n`` independent child seeds (``numpy.random.SeedSequence.spawn``).

    Task ``i`` always gets child ``i``, so results do not depend on how tasks are scheduled.

    Examples
    --------
    >>> from causal_kit._parallel import spawn_seeds
    >>> import numpy as np
    >>> a, b = spawn_seeds(7, 2)
    >>> float(np.random.default_rng(a).random()) != float(np.random.default_rng(b).random())
    True
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return list(root.spawn(int(n)))


def n_workers(n_jobs: int | None) -> int:
    """The number of local workers ``n_jobs`` asks for (``-1``: every core).

    Examples
    --------
    >>> from causal_kit._parallel import n_workers
    >>> n_workers(1), n_workers(3)
    (1, 3)
    """
    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))
    return int(n_jobs)


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for errors, logs and reports).

    Examples
    --------
    >>> from causal_kit._parallel import mask_url
    >>> mask_url("postgresql://ana:s3cret@db.example:5432/ck")
    'postgresql://ana:***@db.example:5432/ck'
    """
    import re

    masked = re.sub(r"(//[^/:@\s]*:)[^@/\s]*@", r"\1***@", str(url))
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", masked)


@contextlib.contextmanager
def use_execution(
    backend: ExecutionBackend | None = None, *, address: str | None = None, n_jobs: int | None = None,
    pinned: bool = False,
) -> Iterator[Execution]:
    """Run every :func:`map_tasks` call inside the block on ``backend``.

    Parameters
    ----------
    backend : {"serial", "joblib", "dask"}, optional
        Default: ``"dask"`` when ``address`` is given, else the caller's choice.
    address : str, optional
        Dask scheduler address, e.g. ``"tcp://10.0.0.5:8786"``. ``backend="dask"`` without an
        address uses the active client, or starts a local cluster of ``n_jobs`` processes.
    n_jobs : int, optional
        Local joblib workers (``-1``: every core) for calls that leave ``n_jobs`` at 1.
    pinned : bool
        Specs' ``execution:`` blocks inside do not override this one (``causal-kit --dask``).

    Examples
    --------
    >>> from causal_kit._parallel import map_tasks, use_execution
    >>> with use_execution("serial"):
    ...     map_tasks(abs, [-1, 2, -3], n_jobs=4)
    [1, 2, 3]
    """
    if backend is not None:
        check_option(backend, ExecutionBackend, "backend", "execution")
    if address is not None and backend not in (None, "dask"):
        raise _spec_error(f"an address ({mask_url(address)!r}) is a Dask scheduler; it needs backend 'dask', "
                          f"got {backend!r}. Drop the address or set backend: dask.")
    plan = Execution("dask" if address is not None else backend, address, n_jobs, pinned)
    if address is not None and not _on_dask_worker():
        _client(address, n_jobs)  # a wrong address fails here, within CONNECT_TIMEOUT, not mid-run
    token = _ACTIVE.set(plan)
    try:
        yield plan
    finally:
        _ACTIVE.reset(token)


def execution_from_spec(spec: Any) -> contextlib.AbstractContextManager[Any]:
    """The :func:`use_execution` block a spec's ``execution:`` asks for (a no-op without one).

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit._parallel import execution_from_spec
    >>> spec = ck.ExperimentSpec(name="x", design="ab", outcome="y", treatment="t",
    ...                          execution={"backend": "serial"})
    >>> with execution_from_spec(spec) as plan:
    ...     plan.backend
    'serial'
    """
    cfg = getattr(spec, "execution", None)
    current = _ACTIVE.get()
    if cfg is None or (current is not None and current.pinned):
        return contextlib.nullcontext(_ACTIVE.get())
    return use_execution(cfg.backend, address=cfg.address, n_jobs=cfg.n_jobs)


def map_tasks(
    fn: Callable[..., R],
    tasks: Iterable[T],
    *,
    n_jobs: int | None = 1,
    prefer: Prefer = "processes",
    shared: Mapping[str, Any] | None = None,
    backend: ExecutionBackend | None = None,
    address: str | None = None,
    progress: str | None = None,
) -> list[R]:
    """``[fn(t, **shared) for t in tasks]``, run serially, on joblib workers or on Dask, in task order.

    Parameters
    ----------
    fn : callable
        A picklable function of one task (module level for process and Dask workers), called
        as ``fn(task, **shared)``.
    tasks : iterable
        The task arguments; pass seeds from :func:`spawn_seeds` inside them.
    n_jobs : int, default 1
        Local workers: 1 runs serially in this process, ``-1`` uses every core.
    prefer : {"processes", "threads"}
        Local joblib threads for work that releases the GIL (numpy, sklearn), processes otherwise.
    shared : mapping, optional
        Large read-only arguments every task needs (arrays, frames). They go to each Dask worker
        once (``Client.scatter``), not once per task; joblib memory-maps large arrays.
    backend : {"serial", "joblib", "dask"}, optional
        Force a backend for this call (see the module docstring for the default order).
    address : str, optional
        Dask scheduler address for this call.
    progress : str, optional
        Show a tqdm progress bar with this label.

    Returns
    -------
    list
        One result per task, in task order.

    Raises
    ------
    BackendError
        The Dask scheduler cannot be reached within ``CONNECT_TIMEOUT`` seconds, or dask is
        not installed.

    Examples
    --------
    >>> from causal_kit._parallel import map_tasks
    >>> map_tasks(abs, [-1, 2, -3])
    [1, 2, 3]
    >>> map_tasks(pow, [1, 2, 3], shared={"exp": 2})
    [1, 4, 9]
    """
    items: Sequence[Any] = list(tasks)
    kw = dict(shared or {})
    kind, target = _resolve(n_jobs, backend, address)
    task = _OneThreadBlas(fn)
    if kind == "dask" and items:
        return _run_dask(target, task, items, kw, progress)
    workers = min(target, len(items)) if kind == "joblib" else 1
    with single_threaded_blas():
        if workers <= 1:
            results: Iterable[Any] = (task(t, **kw) for t in items)
        else:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=workers, prefer=prefer, return_as="generator")(
                delayed(task)(t, **kw) for t in items
            )
        if progress:
            from tqdm.auto import tqdm

            results = tqdm(results, total=len(items), desc=progress, leave=False)
        return list(results)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread inside the block (re-entrant and safe across threads).

    The limit is set when the first thread enters and restored when the last one leaves.

    Examples
    --------
    >>> import numpy as np
    >>> from causal_kit._parallel import single_threaded_blas
    >>> with single_threaded_blas():
    ...     float(np.ones(3) @ np.ones(3))
    3.0
    """
    with _BLAS_LOCK:
        if _BLAS_STATE["depth"] == 0:
            from threadpoolctl import ThreadpoolController

            _BLAS_STATE["saved"] = ThreadpoolController().limit(limits=1, user_api="blas")
        _BLAS_STATE["depth"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE["depth"] -= 1
            if _BLAS_STATE["depth"] == 0:
                _BLAS_STATE["saved"].restore_original_limits()
                _BLAS_STATE["saved"] = None


class _OneThreadBlas:
    """``fn`` run under :func:`single_threaded_blas`, wherever it is unpickled."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)  # Dask names its tasks after it

    def __call__(self, task: Any, **shared: Any) -> Any:
        with single_threaded_blas():
            return self.fn(task, **shared)


# ----------------------------------------------------------------------------- resolution
def _resolve(n_jobs: int | None, backend: ExecutionBackend | None, address: str | None) -> tuple[str, Any]:
    """``("serial", 1)``, ``("joblib", workers)`` or ``("dask", client)``."""
    if _on_dask_worker():
        return "serial", 1
    plan = _ACTIVE.get() or Execution()
    if backend is None and address is None:
        backend, address = plan.backend, plan.address
    if address is not None or backend == "dask":
        return "dask", _client(address, plan.n_jobs if n_jobs in (None, 1) else n_jobs)
    if backend == "serial":
        return "serial", 1
    if backend is None and (client := _active_client()) is not None:
        return "dask", client
    workers = n_workers(plan.n_jobs if n_jobs in (None, 1) and plan.n_jobs is not None else n_jobs)
    return ("joblib", workers) if workers > 1 else ("serial", 1)


def _on_dask_worker() -> bool:
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def _active_client() -> Any:
    if "distributed" not in sys.modules:  # nobody made a client without importing distributed
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def _client(address: str | None, n_jobs: int | None) -> Any:
    """The client for ``address`` (cached), the active client, or a cached local cluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise BackendError("the Dask backend needs dask.distributed, which is not installed. "
                           "Install it with: pip install 'causal-kit[dask]'.") from exc
    if address is None and (client := _active_client()) is not None:
        return client
    key = address or f"local:{n_workers(n_jobs if n_jobs not in (None, 1) else -1)}"
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is not None and client.status == "running":
            return client
        if address is None:
            cluster = LocalCluster(n_workers=n_workers(n_jobs if n_jobs not in (None, 1) else -1),
                                   threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster, set_as_default=False)
        else:
            client = _connect(Client, address)
        _CLIENTS[key] = client
        return client


def _connect(client_cls: Any, address: str) -> Any:
    try:
        return client_cls(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BackendError(
            f"cannot reach the Dask scheduler at {mask_url(address)!r} within {CONNECT_TIMEOUT:g} s "
            f"({type(exc).__name__}). Check that the scheduler runs and the address (tcp://host:port) is right, "
            "or drop execution.address / --dask to run locally."
        ) from None


def _run_dask(client: Any, fn: Callable[..., Any], items: Sequence[Any], shared: dict[str, Any],
              progress: str | None) -> list[Any]:
    # big arrays go to every worker once; the futures stand in for them in each task's kwargs
    scattered = {k: client.scatter(v, broadcast=True, hash=False) if _is_large(v) else v
                 for k, v in shared.items()}
    # many small tasks (bootstrap resamples) go in contiguous batches, a few per worker, so that
    # scheduling costs stay small against the work; results are unbatched in task order
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    n_batches = min(len(items), _BATCHES_PER_WORKER * workers)
    bounds = [round(i * len(items) / n_batches) for i in range(n_batches + 1)]
    batches = [list(items[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    futures = client.map(_Batch(fn), batches, pure=False, **scattered)
    try:
        if progress:
            from distributed import as_completed
            from tqdm.auto import tqdm

            for _ in tqdm(as_completed(futures), total=len(futures), desc=progress, leave=False):
                pass
        return [r for batch in client.gather(futures) for r in batch]
    finally:
        client.cancel(futures + [f for f in scattered.values() if type(f).__name__ == "Future"])


class _Batch:
    """Run ``fn`` over a list of tasks on one worker."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, batch: list[Any], **shared: Any) -> list[Any]:
        return [self.fn(t, **shared) for t in batch]


def _is_large(value: Any) -> bool:
    nbytes = getattr(value, "nbytes", None)
    if nbytes is None and hasattr(value, "memory_usage"):
        nbytes = int(value.memory_usage(deep=False).sum())
    return bool(nbytes is not None and nbytes > 100_000)


def _spec_error(message: str) -> Exception:
    from .errors import SpecError

    return SpecError(message)
