"""DML benchmark: PLR with gradient-boosted nuisances, ours against DoubleML and econml.

Data: ``n`` rows x 20 features, continuous treatment ``d = sin(x0) + 0.5 x1 + e`` and
outcome ``y = 0.5 d + x0^2 / 2 + x2 + e`` (true effect 0.5). Every library gets the same
5 folds and clones of the same scikit-learn learners (HistGradientBoostingRegressor with
causal_kit's default settings), so the estimates must agree (econml's SE differs from
DoubleML's by sqrt(n / (n - 1)) by convention). Each fit runs in a fresh process with a time
cap; a library that does not finish in time is recorded as such.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from typing import Any

from ._harness import peer_available, row

CAP_S = 300.0
N_FEATURES = 20


def _data(n: int, seed: int = 0):  # noqa: ANN202
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    d = np.sin(X[:, 0]) + 0.5 * X[:, 1] + rng.normal(size=n)
    y = 0.5 * d + X[:, 0] ** 2 / 2 + X[:, 2] + rng.normal(size=n)
    folds = rng.permutation(np.arange(n) % 5)
    return X, y, d, folds


def _learner():  # noqa: ANN202
    from causal_kit.estimators._crossfit import default_learner

    return default_learner(False, 0)


def _fit(lib: str, n: int) -> tuple[float, float, float]:
    import numpy as np

    X, y, d, folds = _data(n)
    if lib == "causal_kit":
        import pandas as pd

        import causal_kit as ck
        from causal_kit.estimators.dml import DML

        cols = [f"x{i}" for i in range(N_FEATURES)]
        df = pd.DataFrame(X, columns=cols)
        df["y"], df["d"] = y, d
        spec = ck.ExperimentSpec(name="bench", design="dml", outcome="y", treatment="d", covariates=cols)
        t0 = time.perf_counter()
        r = DML(model="plr", learner_y=_learner(), learner_d=_learner(), folds=folds, refute=False).fit(df, spec)
        return time.perf_counter() - t0, r.estimate, r.se
    smpls = [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(5)]
    if lib == "doubleml":
        import doubleml as dml

        t0 = time.perf_counter()
        data = dml.DoubleMLData.from_arrays(X, y, d)
        model = dml.DoubleMLPLR(data, ml_l=_learner(), ml_m=_learner(), n_folds=5, draw_sample_splitting=False)
        model.set_sample_splitting(smpls)
        model.fit()
        return time.perf_counter() - t0, float(model.coef[0]), float(model.se[0])
    from econml.dml import LinearDML

    t0 = time.perf_counter()
    est = LinearDML(model_y=_learner(), model_t=_learner(), cv=smpls, random_state=0)
    est.fit(y, d, X=None, W=X)
    inf = est.const_marginal_effect_inference()
    return time.perf_counter() - t0, float(np.ravel(est.intercept_)[0]), float(np.ravel(inf.stderr)[0])


def _worker(lib: str, n: int, queue: Any) -> None:
    try:
        queue.put(("ok", _fit(lib, n)))
    except Exception as exc:  # report the failure to the parent as data
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def _timed(lib: str, n: int, cap: float) -> tuple[float | None, tuple[float, float] | None, str]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_worker, args=(lib, n, queue))
    proc.start()
    proc.join(cap)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None, None, f"did not finish within {cap:.0f} s"
    if queue.empty():
        return None, None, f"exited with code {proc.exitcode}"
    status, payload = queue.get()
    if status != "ok":
        return None, None, payload
    seconds, est, se = payload
    return seconds, (est, se), ""


def run(quick: bool) -> list[dict]:
    """Time PLR at 10k and 100k rows (and 1M unless ``quick``) for us and each peer."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    rows = []
    for n in sizes:
        ours_s, ours, note = _timed("causal_kit", n, CAP_S)
        case = f"PLR, HGB nuisances, {n:,} x {N_FEATURES}, 5 folds"
        goal = "< 60 s on 2 cores, ahead of both peers" if n == 1_000_000 else "ahead of both peers"
        if ours_s is None:
            rows.append(row(case, float("nan"), goal=goal, note=f"causal_kit {note}"))
            continue
        for peer, module in (("DoubleML", "doubleml"), ("econml LinearDML", "econml")):
            if not peer_available(module):
                rows.append(row(case, ours_s, peer=peer, goal=goal, note=f"{module} not installed"))
                continue
            peer_s, theirs, pnote = _timed(module, n, CAP_S)
            match = None
            if theirs is not None and ours is not None:
                scale = (n / (n - 1)) ** 0.5 if module == "econml" else 1.0
                match = abs(theirs[0] - ours[0]) <= 1e-6 * max(1.0, abs(ours[0])) and abs(
                    theirs[1] - ours[1] * scale) <= 1e-4 * ours[1]
            rows.append(row(case, ours_s, peer=peer, peer_s=peer_s, goal=goal, match=match,
                            note=pnote or f"theta ours {ours[0]:.5f} vs {theirs[0]:.5f}"))
        print(f"  n={n:,}: ours {ours_s:.2f} s, theta {ours[0]:.5f} (SE {ours[1]:.5f})", flush=True)
    return rows
