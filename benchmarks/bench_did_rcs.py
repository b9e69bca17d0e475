"""DiD on repeated cross-sections: 1,000,000 rows (10 periods, a covariate) through ``causal_kit.estimate``.

Goal: < 2 s end to end (validation, the group x post OLS with period indicators, HC1 and
cluster-robust SEs). Peer in the same process: statsmodels ``OLS`` with the same formula and
HC1; ``match`` compares the coefficient to 1e-8 and its SE to 1e-8 (relative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks._harness import best_time, peer_available, row


def _data(n: int, periods: int = 10, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = rng.integers(1, periods + 1, n)
    region = rng.integers(0, 500, n)
    g = (region < 200).astype(int)
    x = rng.normal(0.1 * t, 1.0)
    y = 1.0 + 0.5 * g + 0.2 * t + 0.3 * x + 0.25 * g * (t >= 6) + rng.normal(0, 1, n)
    return pd.DataFrame({"period": t, "region": region, "group": g, "x": x, "y": y})


def run(quick: bool = False) -> list[dict]:
    import causal_kit as ck

    n = 100_000 if quick else 1_000_000
    df = _data(n)
    spec = ck.ExperimentSpec(name="bench-rcs", design="did", outcome="y", time="period", treatment="group",
                             treatment_start=6, covariates=["x"], panel=False)
    ours_s, res = best_time(lambda: ck.estimate(df, spec), repeat=3)
    cl_s, _ = best_time(lambda: ck.estimate(df, spec.update(cluster="region")), repeat=3)
    case = f"did on {n:,} repeated cross-section rows"
    rows = [row(f"{case} (clustered by region)", cl_s, goal="< 2 s")]
    if not peer_available("statsmodels"):
        return rows + [row(case, ours_s, "statsmodels", None, "< 2 s", None, note="statsmodels not installed")]

    def peer():
        import statsmodels.formula.api as smf

        m = smf.ols("y ~ group + C(period) + group:post + x", df.assign(post=(df["period"] >= 6).astype(int)))
        fit = m.fit(cov_type="HC1")
        return float(fit.params["group:post"]), float(fit.bse["group:post"])

    peer_s, (p_est, p_se) = best_time(peer, repeat=1)
    match = bool(abs(p_est - res.estimate) < 1e-8 and abs(p_se / res.se - 1) < 1e-8)
    rows.append(row(f"{case} (HC1)", ours_s, "statsmodels", peer_s, "< 2 s", match,
                    note=f"ours {res.estimate:.6f} ({res.se:.6f}); peer {p_est:.6f} ({p_se:.6f})"))
    return rows
