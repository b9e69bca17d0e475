"""Switchback experiments: a policy randomised over time within units (Bojinov, Simchi-Levi and Zhao 2023).

Time steps (``spec.time``) are grouped into periods of ``spec.switchback.period_length`` steps; each
randomisation block (``spec.switchback.block``, default each unit) has one policy per period. The
first ``spec.switchback.carryover`` steps of every period are burn-in: the previous period's policy
may still act there, so they are dropped. The effect is the difference in mean outcome between
treated and control steps that remain. Inference:

* ``randomization`` (default): the schedule is re-drawn ``n_draws`` times from the design
  (Bernoulli ``p`` per block and period); the p-value of the sharp null is exact, and the interval
  inverts the same test over constant effects;
* ``hac``: standard errors clustered by randomisation period (every unit and step of a period
  together), robust to any serial and cross-unit correlation of the outcome, with ``t(K - 1)``.

The carryover regression (outcome on the policy 0..J steps ago, period-cluster SEs) estimates how
many steps the policy lingers and tests that nothing carries over beyond the burn-in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._data import prepare
from .._typing import check_fraction, check_positive_int
from ..errors import DataError, SpecError
from ..inference.placebo import permutation_interval
from ..inference.switchback import burn_in_mask, dim_draws, draw_schedules, period_sums
from ..result import Diagnostic, EffectEstimate, make_lineage
from ._did_common import fast_t_ci as t_ci

__all__ = ["Switchback", "switchback_panel"]


def switchback_panel(data: Any, spec: Any) -> dict[str, Any]:
    """Validate and pivot a switchback frame into dense arrays and its schedule."""
    cfg = spec.switchback
    if cfg is None:
        raise SpecError("design 'switchback' needs spec.switchback with at least period_length.")
    prepared = prepare(data, spec)
    frame = prepared.frame
    dup = frame.duplicated([spec.unit, spec.time])
    if dup.any():
        raise DataError(f"{int(dup.sum())} duplicate ({spec.unit!r}, {spec.time!r}) rows; a switchback panel has one "
                        "row per unit and time step. Aggregate them first.")
    Y = frame.pivot(index=spec.unit, columns=spec.time, values=spec.outcome).sort_index().sort_index(axis=1)
    D = frame.pivot(index=spec.unit, columns=spec.time, values=spec.treatment).reindex_like(Y)
    if Y.isna().to_numpy().any():
        n_miss = int(Y.isna().to_numpy().sum())
        raise DataError(f"the switchback panel is unbalanced: {n_miss} (unit, time step) cells are missing; every unit "
                        f"needs a row at every step of {spec.time!r}. Fill or trim them.")
    n, t = Y.shape
    L = cfg.period_length
    if t < 2 * L:
        raise DataError(f"{t} time steps hold fewer than two periods of {L} steps (spec.switchback.period_length); "
                        "shorten the periods or add data.")
    if t % L:
        raise DataError(f"{t} time steps are not a whole number of periods of {L} steps; trim the panel to "
                        f"{t - t % L} steps or change spec.switchback.period_length.")
    k = t // L
    d = D.to_numpy(dtype=float).reshape(n, k, L)
    if cfg.block is not None:
        blocks = frame.groupby(spec.unit)[cfg.block].nunique()
        if (blocks > 1).any():
            raise DataError(f"column {cfg.block!r} (spec.switchback.block) changes within {int((blocks > 1).sum())} "
                            "unit(s); a unit belongs to one randomisation block.")
        block_labels = frame.groupby(spec.unit)[cfg.block].first().reindex(Y.index).to_numpy()
    else:
        block_labels = Y.index.to_numpy()
    block_values, block_of_unit = np.unique(block_labels.astype(str), return_inverse=True)
    mixed = (d.min(axis=2) != d.max(axis=2))
    if mixed.any():
        raise DataError(
            f"column {spec.treatment!r} (spec.treatment) changes within {int(mixed.sum())} (unit, period) cell(s) of "
            f"{L} steps; a switchback period holds one policy. Check spec.switchback.period_length and that the "
            "first time step starts a period.")
    W = d[:, :, 0]
    for b in range(len(block_values)):
        rows = W[block_of_unit == b]
        if (rows != rows[0]).any():
            raise DataError(f"units of block {block_values[b]!r} (spec.switchback.block) follow different schedules; "
                            "a block shares one policy per period.")
    if W.min() == W.max():
        raise DataError(f"every period has the same policy ({int(W[0, 0])}); a switchback needs treated and control "
                        "periods.")
    return {"prepared": prepared, "Y": Y.to_numpy(dtype=float), "W": W, "units": Y.index.to_numpy(),
            "times": Y.columns.to_numpy(), "block_of_unit": block_of_unit, "blocks": block_values, "n_periods": k}


def lag_regression(Y: np.ndarray, W: np.ndarray, period_length: int, max_lag: int, alpha: float) -> pd.DataFrame:
    """Outcome on the policy 0..max_lag steps ago (pooled OLS, period-cluster SEs); one row per lag."""
    n, t = Y.shape
    step_policy = np.repeat(W, period_length, axis=1)  # (N, T)
    lags = [step_policy[:, max_lag - j: t - j] for j in range(max_lag + 1)]
    y = Y[:, max_lag:].ravel()
    X = np.column_stack([np.ones(y.size)] + [lag.ravel() for lag in lags])
    period = np.broadcast_to((np.arange(max_lag, t) // period_length)[None, :], (n, t - max_lag)).ravel()
    bread = np.linalg.pinv(X.T @ X)
    beta = bread @ X.T @ y
    e = y - X @ beta
    scores = np.zeros((int(period.max()) + 1, X.shape[1]))
    np.add.at(scores, period, X * e[:, None])
    G = int(len(np.unique(period)))
    V = G / max(G - 1, 1) * bread @ (scores.T @ scores) @ bread
    rows = []
    for j in range(max_lag + 1):
        se = float(np.sqrt(max(V[j + 1, j + 1], 0.0)))
        ci, p = t_ci(float(beta[j + 1]), se, alpha, float(G - 1))
        rows.append({"lag": j, "estimate": float(beta[j + 1]), "se": se, "ci_low": ci[0], "ci_high": ci[1],
                     "p_value": p})
    return pd.DataFrame(rows)


class Switchback:
    """Difference in means over non-burn-in steps of a switchback experiment.

    Parameters
    ----------
    inference : {"randomization", "hac"}
        Exact randomisation test with its inverted interval (default), or period-cluster
        (HAC) standard errors with a ``t(K - 1)`` interval. Both are always reported in
        ``tables["inference"]``.
    n_draws : int
        Re-drawn schedules for randomisation inference (default 2,000).
    seed : int, optional
        Seed of the re-draws; defaults to ``spec.seed``.
    alpha : float, optional
        Overrides ``spec.alpha``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="sb", design="switchback", outcome="orders", unit="city", time="hour",
    ...     treatment="policy", switchback={"period_length": 6, "carryover": 1})
    >>> res = Switchback(n_draws=500).fit(ck.datasets.load("switchback_sim"), spec)
    >>> res.tables["inference"]["method"].tolist()
    ['randomization', 'hac', 'naive (burn-in kept)']
    """

    def __init__(self, *, inference: str = "randomization", n_draws: int = 2000, seed: int | None = None,
                 alpha: float | None = None) -> None:
        self.inference = inference
        self.n_draws = n_draws
        self.seed = seed
        self.alpha = alpha

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the switchback effect; see the class docstring."""
        if self.inference not in ("randomization", "hac"):
            raise SpecError(f"The 'inference' parameter of Switchback must be one of 'randomization', 'hac'. "
                            f"Got {self.inference!r} instead.")
        check_positive_int(self.n_draws, "n_draws", "Switchback", 99)
        if self.alpha is not None:
            check_fraction(self.alpha, "alpha", "Switchback")
        alpha = spec.alpha if self.alpha is None else float(self.alpha)
        seed = spec.seed if self.seed is None else int(self.seed)
        cfg = spec.switchback
        sb = switchback_panel(data, spec)
        Y, W, k = sb["Y"], sb["W"], sb["n_periods"]
        L, m = cfg.period_length, cfg.carryover
        n, t = Y.shape
        keep = burn_in_mask(t, L, m)
        S, C = period_sums(Y, keep, L)
        est, se_hac = (float(v[0]) for v in dim_draws(S, C, W[None]))
        S_all, C_all = period_sums(Y, np.ones(t, bool), L)
        naive, naive_se = (float(v[0]) for v in dim_draws(S_all, C_all, W[None]))
        # randomisation inference: a[s] = DiM on Y, b[s] = DiM on the observed policy, under draw s
        draws = draw_schedules(int(self.n_draws), sb["block_of_unit"], k, cfg.p, seed)
        a, _ = dim_draws(S, C, draws)
        b, _ = dim_draws(W * C, C, draws)
        ok = np.isfinite(a) & np.isfinite(b)
        ri = permutation_interval(est, a[ok], b[ok], alpha)
        ci_hac, p_hac = t_ci(est, se_hac, alpha, float(k - 1))
        ci_naive, p_naive = t_ci(naive, naive_se, alpha, float(k - 1))
        inf_table = pd.DataFrame([
            {"method": "randomization", "estimate": est, "se": ri["se"], "ci_low": ri["ci_low"],
             "ci_high": ri["ci_high"], "p_value": ri["p_value"]},
            {"method": "hac", "estimate": est, "se": se_hac, "ci_low": ci_hac[0], "ci_high": ci_hac[1],
             "p_value": p_hac},
            {"method": "naive (burn-in kept)", "estimate": naive, "se": naive_se, "ci_low": ci_naive[0],
             "ci_high": ci_naive[1], "p_value": p_naive},
        ])
        max_lag = cfg.max_lag if cfg.max_lag is not None else min(L - 1, m + 3)
        max_lag = max(1, min(int(max_lag), t - L))
        lags = lag_regression(Y, W, L, max_lag, alpha)
        diags = self._diagnostics(lags, m, alpha, est, naive, k)
        schedule = pd.DataFrame({
            "block": np.repeat(sb["blocks"], k), "period": np.tile(np.arange(1, k + 1), len(sb["blocks"])),
            "start": np.tile(sb["times"][::L], len(sb["blocks"])),
            "treated": np.concatenate([W[np.flatnonzero(sb["block_of_unit"] == b)[0]]
                                       for b in range(len(sb["blocks"]))]).astype(int)})
        row = inf_table.iloc[0] if self.inference == "randomization" else inf_table.iloc[1]
        how = (f"randomisation inference over {int(ok.sum())} re-drawn schedules (Bernoulli {cfg.p:g} per block and "
               "period): exact p-value of the sharp null, interval by inverting the test over constant effects; SE = "
               "CI width / (2 z)") if self.inference == "randomization" else (
               f"standard errors clustered by randomisation period ({k} periods), t({k - 1}) interval")
        n_kept = int(C.sum())
        return EffectEstimate(
            method="switchback", design=spec.design, estimand="ATE over non-burn-in steps", estimate=est,
            se=float(row["se"]), ci=(float(row["ci_low"]), float(row["ci_high"])), p_value=float(row["p_value"]),
            alpha=alpha, n_obs=n_kept, n_units=n, n_dropped=sb["prepared"].n_dropped,
            dropped_reasons={**sb["prepared"].dropped_reasons, "burn-in steps": int(n * t - n_kept)},
            diagnostics=tuple(diags), tables={"inference": inf_table, "carryover": lags, "schedule": schedule},
            lineage=make_lineage(spec, sb["prepared"].fingerprint, seed), inference=how,
            df_resid=float(k - 1) if self.inference == "hac" else None, outcome=spec.outcome or "",
            baseline=float((S * (1 - W)).sum() / (C * (1 - W)).sum()), exposure=float((C * W).sum()),
            details={"period_length": L, "carryover": m, "n_periods": k, "n_blocks": len(sb["blocks"]),
                     "naive_estimate": naive, "ri_p_value": float(ri["p_value"]), "hac_p_value": float(p_hac),
                     "n_draws": int(ok.sum()), "max_lag": int(max_lag)},
            label="Switchback (burn-in dropped)",
        )

    @staticmethod
    def _diagnostics(lags: pd.DataFrame, m: int, alpha: float, est: float, naive: float, k: int) -> list[Diagnostic]:
        J = int(lags["lag"].max())
        sig = lags[(lags["lag"] >= 1) & (lags["p_value"] < alpha / J)]
        m_hat = int(sig["lag"].max()) if len(sig) else 0
        beyond = lags[lags["lag"] > m]
        worst = beyond.loc[beyond["p_value"].idxmin()] if len(beyond) else None
        if m_hat > m:
            status, msg = "warn", (
                f"The policy still moves the outcome {m_hat} step(s) after a switch (lag coefficient p = "
                f"{float(lags.loc[lags['lag'] == m_hat, 'p_value'].iloc[0]):.3g}, Bonferroni over {J} lags), longer "
                f"than the {m}-step burn-in: the estimate is biased towards zero. Set switchback.carryover to {m_hat}.")
        else:
            status, msg = "pass", (
                f"No carryover beyond the {m}-step burn-in is detected (lags 1..{J}, Bonferroni at {alpha:g}); the "
                f"estimated carryover order is {m_hat} step(s).")
        diags = [Diagnostic("carryover", status, msg, statistic=float(m_hat), threshold=float(m),
                            p_value=float(worst["p_value"]) if worst is not None else None,
                            assumption="interference")]
        diags.append(Diagnostic(
            "periods", "pass" if k >= 20 else "warn",
            f"{k} randomised periods" + (": enough for period-level inference." if k >= 20 else
                                         "; with fewer than 20 periods intervals are wide and the HAC interval is "
                                         "approximate, so read the randomisation p-value."),
            statistic=float(k), threshold=20.0, assumption="inference"))
        diags.append(Diagnostic(
            "burn_in_effect", "pass" if abs(naive - est) <= 0.5 * abs(est) + 1e-12 else "warn",
            f"Keeping the burn-in steps would give {naive:.3g} instead of {est:.3g}.",
            statistic=float(naive - est), assumption="specification"))
        return diags
