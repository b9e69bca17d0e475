"""Conformal inference for synthetic control on Prop 99 against ``scinference``.

Goal (issue "geo measurement"): every moving-block permutation and a 200-point grid per
post-period for the pointwise intervals (12 post-years, the ``sc`` model) in at most 0.5x
the time of ``scinference`` in the same run (the ``bench`` extra; without it only our time is
reported). Also times the estimator option ``SyntheticControl(inference="conformal")``
through :func:`causal_kit.estimate`.
"""

from __future__ import annotations

from ._harness import best_time, row


def run(quick: bool = False) -> list[dict]:
    import numpy as np

    import causal_kit as ck
    from causal_kit.inference.conformal import conformal_pointwise, conformal_pvalue

    data = ck.datasets.load("california_prop99")
    wide = data.pivot(index="Year", columns="State", values="PacksPerCapita")
    y1, Y0 = wide.pop("California").to_numpy(), wide.to_numpy()
    grid = np.linspace(-60, 20, 201)

    def ours():
        conformal_pvalue(y1, Y0, 19)
        return conformal_pointwise(y1, Y0, 19, grid, alpha=0.1)

    ours_s, (lo, hi) = best_time(ours, repeat=3)
    peer_s, agree = None, None
    try:
        from scinference import scinference
    except ImportError:
        scinference = None
    if scinference is not None and not quick:
        import time

        t = time.perf_counter()
        scinference(y1, Y0, T1=12, T0=19, theta0=0, estimation_method="sc")
        ref = scinference(y1, Y0, T1=12, T0=19, alpha=0.1, ci=True, estimation_method="sc", ci_grid=grid)
        peer_s = time.perf_counter() - t
        agree = bool(np.allclose(lo, ref["lb"], atol=1e-6) and np.allclose(hi, ref["ub"], atol=1e-6))
    spec = ck.ExperimentSpec(name="bench", design="synthetic_control", outcome="PacksPerCapita", unit="State",
                             time="Year", treatment="treated", options={"inference": "conformal"})
    est_s, res = best_time(lambda: ck.estimate(data, spec), repeat=3)
    return [
        row("conformal SC, Prop 99: moving-block p-value + pointwise CIs on a 201-point grid", ours_s,
            "scinference 0.1.0" if peer_s else "", peer_s, "<= 0.5x", agree,
            note="intervals equal scinference's" if agree else ""),
        row("SyntheticControl(inference='conformal') on Prop 99 via ck.estimate", est_s,
            note=f"p={res.p_value:.4f}, CI=({res.ci[0]:.1f}, {res.ci[1]:.1f})"),
    ]
