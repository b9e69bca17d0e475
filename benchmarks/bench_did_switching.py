"""de Chaisemartin-D'Haultfoeuille switching DiD: 10,000 units x 40 periods through ``causal_kit.estimate``.

Goal: < 5 s end to end (validation, pivot, 5 effects, 5 placebos, their joint covariance, the
TWFE comparison). Peer in the same process: diff-diff's ``ChaisemartinDHaultfoeuille`` with
``L_max=5`` (analytic SEs, no bootstrap); ``match`` compares every effect to 1e-6 and its SE to
1e-4 (relative). On a shared 2-core machine run it with ``OPENBLAS_NUM_THREADS=1``.
"""

from __future__ import annotations

import warnings

import numpy as np

from benchmarks._harness import best_time, peer_available, row


def run(quick: bool = False) -> list[dict]:
    import causal_kit as ck
    from causal_kit.datasets import simulate_switching_panel
    from causal_kit.estimators.did_multiplegt import SwitchingDiD

    n_units, n_periods = (2000, 20) if quick else (10_000, 40)
    df = simulate_switching_panel(n_units=n_units, n_periods=n_periods, seed=1)
    spec = ck.ExperimentSpec(name="bench-switching", design="staggered_did", outcome="y", unit="unit",
                             time="period", treatment="promo", estimators=["did_multiplegt"])
    ours_s, res = best_time(lambda: ck.estimate(df, spec), repeat=2)
    res = res[0] if isinstance(res, list) else res
    ours_s5, res5 = best_time(lambda: SwitchingDiD(effects=5, placebos=5).fit(df, spec), repeat=2)
    case = f"did_multiplegt on {n_units:,} x {n_periods} switching panel"
    rows = [row(f"{case} (default horizons: {res.details['effects']})", ours_s, goal="< 5 s",
                note=f"average total effect {res.estimate:.6f} ({res.se:.6f})")]
    if not peer_available("diff_diff"):
        return rows + [row(case, ours_s5, "diff-diff", None, "< 5 s", None, note="diff-diff not installed")]

    def peer():
        from diff_diff import ChaisemartinDHaultfoeuille

        r = ChaisemartinDHaultfoeuille(twfe_diagnostic=False).fit(df, outcome="y", group="unit", time="period",
                                                                  treatment="promo", L_max=5)
        return np.array([[d["effect"], d["se"]] for _, d in sorted(r.event_study_effects.items())])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer_s, theirs = best_time(peer, repeat=1)
    es = res5.tables["event_study"].query("kind == 'post'").sort_values("event_time")
    ours = es[["estimate", "se"]].to_numpy()
    match = bool(np.all(np.abs(ours[:, 0] - theirs[:, 0]) < 1e-6) and np.all(np.abs(ours[:, 1] / theirs[:, 1] - 1) < 1e-4))
    rows.append(row(f"{case} (5 effects + 5 placebos)", ours_s5, "diff-diff", peer_s, "< 5 s", match,
                    note=f"DID_1 ours {ours[0, 0]:.6f} ({ours[0, 1]:.6f}); peer {theirs[0, 0]:.6f} ({theirs[0, 1]:.6f})"))
    return rows
