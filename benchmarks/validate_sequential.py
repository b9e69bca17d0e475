"""Validation of the sequential A/B methods: A/A false positives and coverage under 30 looks.

``python -m benchmarks.validate_sequential [--runs 10000]`` prints, for 30 equally spaced looks
growing to 20,000 units per arm, the share of null experiments that reject at *some* look for the
naive fixed-horizon z-test and for each always-valid method, with its Monte Carlo standard error,
and the simultaneous coverage of the confidence sequence under a true effect. The simulators
(exact per-look sums) are the ones of ``tests/inference/test_sequential.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd


def _simulators(runs: int):
    path = Path(__file__).resolve().parent.parent / "tests" / "inference" / "test_sequential.py"
    spec = importlib.util.spec_from_file_location("_sequential_sims", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.R = runs
    return module


def main() -> None:
    from causal_kit.inference.alpha_spending import spending_boundaries
    from causal_kit.inference.msprt import msprt, msprt_proportions
    from causal_kit.inference.sequential import always_valid_p_value, confidence_sequence, cs_rho
    from causal_kit.inference.sequential_srm import sequential_srm_p_value

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    runs = parser.parse_args().runs
    S = _simulators(runs)
    alpha = S.ALPHA
    mcse = math.sqrt(alpha * (1 - alpha) / runs)
    rows = []

    def add(case, rate, target):
        rows.append({"case": case, "runs": runs, "looks": S.K, "rate": rate, "mcse": math.sqrt(rate * (1 - rate) / runs),
                     "target": target})

    rng = np.random.default_rng(20240601)
    est, se, n = S._welch(S._normal_arm(rng, 1.0, 2.0), S._normal_arm(rng, 1.0, 2.0))
    add("naive z-test, difference in means (A/A)", S._naive_any(est, se), ">= 0.20")
    add("confidence sequence, difference in means (A/A)",
        S._rejects_any(always_valid_p_value(est, se, n, rho=cs_rho(10_000))), f"<= {alpha + 2 * mcse:.4f}")
    add("mSPRT means, tau 0.05 (A/A)", S._rejects_any(msprt(est, se**2, 0.05)[2]), f"<= {alpha + 2 * mcse:.4f}")
    # Lan-DeMets at 6 of the 30 looks (every fifth), O'Brien-Fleming and Pocock
    every = slice(4, None, 5)
    t = (n[every, 0] / n[-1, 0])
    for kind in ("obrien_fleming", "pocock"):
        b = spending_boundaries(t, alpha, kind)
        z = np.abs(est[every] / se[every])
        add(f"alpha spending {kind}, 6 looks (A/A)", float((z >= b[:, None]).any(0).mean()), f"{alpha} +/- {2 * mcse:.4f}")
    rng = np.random.default_rng(7)
    cov = np.array([[1.0, 0.7], [0.7, 1.0]])
    est_c, se_c, n_c = S._cuped(S._bivariate_arm(rng, np.array([2.0, 2.0]), cov),
                                S._bivariate_arm(rng, np.array([2.0, 2.0]), cov))
    add("naive z-test, CUPED (A/A)", S._naive_any(est_c, se_c), ">= 0.20")
    add("confidence sequence, CUPED (A/A)",
        S._rejects_any(always_valid_p_value(est_c, se_c, n_c, rho=cs_rho(10_000))), f"<= {alpha + 2 * mcse:.4f}")
    from causal_kit.inference.anytime_regression import anytime_valid_coefficient

    rng = np.random.default_rng(8)
    (n1, s1, c1), (n0, s0, c0) = (S._bivariate_arm(rng, np.array([2.0, 2.0]), cov) for _ in range(2))
    nn, ss, cc = n1 + n0, s1 + s0, c1 + c0
    xtx = np.empty((S.K, runs, 3, 3))
    xtx[..., 0, 0], xtx[..., 0, 1], xtx[..., 0, 2] = nn, n1, ss[..., 1]
    xtx[..., 1, 1], xtx[..., 1, 2], xtx[..., 2, 2] = n1, s1[..., 1], cc[..., 1, 1]
    xtx[..., 1, 0], xtx[..., 2, 0], xtx[..., 2, 1] = xtx[..., 0, 1], xtx[..., 0, 2], xtx[..., 1, 2]
    xty = np.stack([ss[..., 0], s1[..., 0], cc[..., 0, 1]], axis=-1)
    p_reg = anytime_valid_coefficient(xtx, xty, cc[..., 0, 0], nn, 1, alpha)[4]
    add("anytime-valid regression (Lindon), y ~ t + x (A/A)", S._rejects_any(p_reg), f"<= {alpha + 2 * mcse:.4f}")
    rng = np.random.default_rng(11)
    looks, d = S._looks()
    x1 = rng.binomial(d[:, None], 0.1, size=(S.K, runs)).cumsum(0)
    x0 = rng.binomial(d[:, None], 0.1, size=(S.K, runs)).cumsum(0)
    nn = looks[:, None].astype(float)
    e, _, _, p = msprt_proportions(x1, nn, x0, nn, tau=0.01)
    p1, p0 = x1 / nn, x0 / nn
    add("naive z-test, proportions (A/A)", S._naive_any(e, np.sqrt(p1 * (1 - p1) / nn + p0 * (1 - p0) / nn)), ">= 0.20")
    add("mSPRT proportions, tau 0.01 (A/A)", S._rejects_any(p), f"<= {alpha + 2 * mcse:.4f}")
    rng = np.random.default_rng(5)
    treated = rng.binomial(2 * d[:, None], 0.5, size=(S.K, runs)).cumsum(0)
    counts = np.stack([2 * looks[:, None] - treated, treated], axis=-1).astype(float)
    add("always-valid SRM test (correct split)", S._rejects_any(sequential_srm_p_value(counts, [0.5, 0.5])),
        f"<= {alpha + 2 * mcse:.4f}")
    rng = np.random.default_rng(3)
    est, se, n = S._welch(S._normal_arm(rng, 1.05, 1.5), S._normal_arm(rng, 1.0, 1.0))
    low, high = confidence_sequence(est, se, n, alpha, planned_n=10_000)
    add("confidence sequence: coverage at all 30 looks at once", float(((low <= 0.05) & (0.05 <= high)).all(0).mean()),
        f">= {1 - alpha - 2 * mcse:.4f}")
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
