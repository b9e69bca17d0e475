"""Surrogate-index benchmark: 1M experiment rows x 10 surrogates.

Case 1: the OLS index with the seeded bootstrap over both samples (200 draws) and every
diagnostic (bias bounds, comparability, out-of-fold R², the path over surrogates); goal < 5 s.
Case 2: a gradient-boosting index with 5-fold cross-fitting against fitting the same learner
5 times on the observational sample (the floor); goal <= 1.0x. The observational sample has
200,000 rows in both cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks._harness import best_time, row

N_SURROGATES = 10


def _frames(n_exp: int, n_obs: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, n, treated in (("experiment", n_exp, True), ("observational", n_obs, False)):
        t = rng.integers(0, 2, n) if treated else np.zeros(n, dtype=int)
        S = 0.5 * rng.normal(size=(n, 1)) + 0.1 * t[:, None] + rng.normal(size=(n, N_SURROGATES))
        df = pd.DataFrame(S, columns=[f"s{j}" for j in range(N_SURROGATES)])
        if treated:
            df["treatment"] = t
        else:
            df["y"] = S @ np.linspace(0.1, 1.0, N_SURROGATES) + np.sin(S[:, 0]) + rng.normal(size=n)
        out[name] = df
    return out


def run(quick: bool = False) -> list[dict]:
    import causal_kit as ck
    from causal_kit.estimators._crossfit import default_learner
    from causal_kit.estimators.surrogate import SurrogateIndex

    n_exp, n_obs = (100_000, 20_000) if quick else (1_000_000, 200_000)
    frames = _frames(n_exp, n_obs)
    spec = ck.ExperimentSpec(name="bench-surrogate", design="surrogate", treatment="treatment",
                             surrogates=[f"s{j}" for j in range(N_SURROGATES)], long_term_outcome="y")
    rows = []
    ours_s, res = best_time(lambda: SurrogateIndex(se="bootstrap", n_boot=200).fit(frames, spec), repeat=2)
    rows.append(row(f"surrogate OLS index + bootstrap (200), n_exp={n_exp:,}, n_obs={n_obs:,}, 10 surrogates",
                    ours_s, "", None, "< 5 s", bool(res.se > 0),
                    note=f"se={res.se:.4g} (influence {res.details['se_influence']:.4g})"))

    X = frames["observational"][list(spec.surrogates)].to_numpy()
    y = frames["observational"]["y"].to_numpy()

    def five_fits() -> None:
        for k in range(5):
            default_learner(False, k).fit(X, y)

    floor_s, _ = best_time(five_fits, repeat=1)
    ours_s, res = best_time(lambda: SurrogateIndex(learner="hgb", n_folds=5).fit(frames, spec), repeat=1)
    rows.append(row(f"surrogate HGB index, 5-fold cross-fit, n_exp={n_exp:,}, n_obs={n_obs:,}", ours_s,
                    "HGB fitted 5 times on the observational sample (floor)", floor_s, "<= 1.0x", None,
                    note=f"oof R2={res.details['oof_r2']:.3f}"))
    return rows
