"""The one place that decides how embarrassingly parallel work runs: serially, on joblib
workers, or (later) on a Dask cluster.

Estimators, diagnostics and the design module call :func:`map_tasks` and :func:`spawn_seeds`
and never import joblib or dask themselves, so that a seeded result is the same whichever
way the tasks ran: each task gets its own child seed from :func:`spawn_seeds`, and results
come back in task order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")

Prefer = Literal["processes", "threads"]


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
    """The number of local workers ``n_jobs`` asks for (``-1``: every core)."""
    import os

    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))
    return int(n_jobs)


def map_tasks(
    fn: Callable[[T], R],
    tasks: Iterable[T],
    *,
    n_jobs: int | None = 1,
    prefer: Prefer = "processes",
) -> list[R]:
    """``[fn(t) for t in tasks]``, run serially or on ``n_jobs`` joblib workers, in task order.

    Parameters
    ----------
    fn : callable
        A picklable function of one task (module level for process workers).
    tasks : iterable
        The task arguments; pass seeds from :func:`spawn_seeds` inside them.
    n_jobs : int, default 1
        1 runs serially in this process; ``-1`` uses every core.
    prefer : {"processes", "threads"}
        Threads for work that releases the GIL (numpy, sklearn), processes otherwise.

    Examples
    --------
    >>> from causal_kit._parallel import map_tasks
    >>> map_tasks(abs, [-1, 2, -3])
    [1, 2, 3]
    """
    items: Sequence[Any] = list(tasks)
    workers = n_workers(n_jobs)
    if workers == 1 or len(items) <= 1:
        return [fn(t) for t in items]
    from joblib import Parallel, delayed

    return list(Parallel(n_jobs=min(workers, len(items)), prefer=prefer)(delayed(fn)(t) for t in items))
