"""RDD benchmark: default rdrobust settings (p=1, triangular, mserd, vce=nn) against rdrobust.

Simulated sharp RD with a continuous running variable; our :class:`RDD` (diagnostics off, so
both sides do the same work) and ``rdrobust.rdrobust`` run on the same data in the same
process. A second row times our full fit with every diagnostic (density test, placebo
cutoffs, bandwidth sensitivity, donut), which ``rdrobust`` does not do.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ._harness import best_time, peer_available, row


def _data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    y = 0.5 + 0.8 * x - 0.6 * x**2 + 0.3 * (x >= 0) + rng.normal(0, 0.4, n)
    return pd.DataFrame({"x": x, "y": y})


def run(quick: bool = False) -> list[dict]:
    """Time ours and rdrobust at 1M observations (100k with ``quick``)."""
    from causal_kit import ExperimentSpec
    from causal_kit.estimators.rdd import RDD

    n = 100_000 if quick else 1_000_000
    df = _data(n)
    spec = ExperimentSpec(name="bench", design="rdd", outcome="y", running="x", cutoff=0.0)
    repeat = 1 if quick else 3
    ours_s, ours = best_time(lambda: RDD(diagnostics=False).fit(df, spec), repeat=repeat)
    rows = []
    case = f"sharp RD default, n={n:,}"
    if peer_available("rdrobust"):
        from rdrobust import rdrobust

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer_s, peer = best_time(lambda: rdrobust(y=df["y"].to_numpy(), x=df["x"].to_numpy(), c=0.0),
                                     repeat=repeat)
        theirs = [float(peer.coef.iloc[0, 0]), float(peer.se.iloc[0, 0]), float(peer.se.iloc[2, 0]),
                  float(peer.bws.iloc[0, 0]), float(peer.bws.iloc[1, 0])]
        mine = [ours.estimate, ours.details["se_conventional"], ours.se, ours.details["h_left"],
                ours.details["b_left"]]
        match = bool(np.allclose(mine, theirs, rtol=1e-6))
        rows.append(row(case, ours_s, "rdrobust", peer_s, goal="<= 1.0x", match=match,
                        note=f"max rel diff {np.max(np.abs(np.subtract(mine, theirs)) / np.abs(theirs)):.1e}"))
    else:
        rows.append(row(case, ours_s, "rdrobust", None, goal="<= 1.0x", note="rdrobust not installed"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full_s, _ = best_time(lambda: RDD().fit(df, spec), repeat=1)
    rows.append(row(f"sharp RD with all diagnostics, n={n:,}", full_s, note="no peer: rdrobust has no diagnostics"))
    return rows
