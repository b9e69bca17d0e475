"""Off-policy evaluation: the value of a new (pricing) policy from logged bandit data.

From logged rows ``(action, reward, propensity)`` of a behaviour policy and the action
probabilities of a target policy, :func:`evaluate_policy` estimates the target's expected
reward per round with

- ``ipw``: inverse propensity weighting, mean of ``w r`` with ``w = pi(a|x) / p``;
- ``snipw``: self-normalised IPW, ``sum(w r) / sum(w)``;
- ``dm``: the direct method, mean of ``sum_a pi(a|x) q(x, a)`` under a reward model ``q``;
- ``dr``: doubly robust, ``dm`` plus ``w (r - q(x, a))``;
- ``sndr``: self-normalised DR, the correction divided by ``mean(w)``;
- ``switch_dr``: DR that drops the correction where ``w > tau`` (the Open Bandit Pipeline's
  Switch-DR).

The point estimates follow the formulas of the Open Bandit Pipeline (Saito et al., 2021)
and match it to 1e-8 (``tests/reference/test_ope_reference.py``). Intervals are normal
intervals from each estimator's influence function (the delta method for the self-normalised
ones), or a seeded percentile bootstrap over rows. Propensity coverage is reported as
diagnostics (effective sample size, largest weight, share of propensities under a floor,
mean weight, target mass on arms never logged), never as a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..result import Diagnostic

__all__ = ["OPE_METHODS", "PolicyValue", "evaluate_policy", "fit_reward_model"]

OPEMethod = Literal["ipw", "snipw", "dm", "dr", "sndr", "switch_dr"]
#: The estimators :func:`evaluate_policy` knows, in report order.
OPE_METHODS: tuple[str, ...] = ("ipw", "snipw", "dm", "dr", "sndr", "switch_dr")
_NEEDS_MODEL = {"dm", "dr", "sndr", "switch_dr"}


@dataclass(frozen=True)
class PolicyValue:
    """The estimated value of a target policy, one row per estimator.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``method, estimate, se, ci_low, ci_high``.
    diagnostics : tuple of Diagnostic
        Propensity coverage and support checks (assumption ``overlap``).
    n_obs : int
        Logged rows used.
    logged_value : float
        Mean logged reward: the behaviour policy's own value, for comparison.
    alpha : float
    ci_method : str
    weights_summary : dict
        ``ess``, ``ess_share``, ``max_weight``, ``mean_weight``, ``share_below_floor``.
    """

    table: pd.DataFrame
    diagnostics: tuple[Diagnostic, ...]
    n_obs: int
    logged_value: float
    alpha: float
    ci_method: str
    weights_summary: dict[str, float]

    def estimate(self, method: str) -> float:
        """The point estimate of ``method`` (one of the table's methods)."""
        rows = self.table.loc[self.table["method"] == method, "estimate"]
        if rows.empty:
            raise SpecError(f"method {method!r} was not run; run one of {list(self.table['method'])}")
        return float(rows.iloc[0])


def _column(data: pd.DataFrame | None, value: Any, role: str) -> np.ndarray:
    if data is None:
        return np.asarray(value)
    if not isinstance(value, str):
        return np.asarray(value)
    if value not in data.columns:
        raise DataError(
            f"column {value!r} ({role}) is not in the logged data; its columns are {list(data.columns)[:20]}. "
            f"Pass {role}=<column name>."
        )
    return data[value].to_numpy()


def _rows(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)[:5].tolist()
    return f"rows {idx}" + (" ..." if mask.sum() > 5 else "")


def _encode_actions(action: np.ndarray, arms: Sequence[Any] | None, n_arms_hint: int | None) -> tuple[np.ndarray, int]:
    """Logged actions as integer arm indices 0..K-1."""
    if arms is not None:
        lookup = {a: i for i, a in enumerate(arms)}
        codes = np.array([lookup.get(a, -1) for a in action.tolist()], dtype=np.int64) if action.dtype == object \
            else pd.Index(list(arms)).get_indexer(action)
        bad = codes < 0
        if bad.any():
            raise DataError(
                f"action has {int(bad.sum())} logged values not in arms ({_rows(bad)}, e.g. {action[bad][0]!r}); "
                "add them to arms= or drop those rows."
            )
        return codes.astype(np.int64), len(arms)
    if not np.issubdtype(action.dtype, np.integer):
        raise DataError(
            f"action holds {action.dtype} values; pass arms=[...] (the arm labels in the order of the target "
            "policy's columns) or integer arm indices 0..K-1."
        )
    k = n_arms_hint if n_arms_hint is not None else int(action.max()) + 1
    bad = (action < 0) | (action >= k)
    if bad.any():
        raise DataError(f"action has {int(bad.sum())} values outside 0..{k - 1} ({_rows(bad)}); "
                        "the target policy and reward model have that many arms.")
    return action.astype(np.int64), k


def _target_at(target: np.ndarray, action: np.ndarray, n: int, k: int) -> tuple[np.ndarray, np.ndarray | None]:
    """pi(a_i | x_i) for the logged actions, and the full (n, K) or (K,) probabilities (None if deterministic)."""
    if target.ndim == 1 and np.issubdtype(target.dtype, np.integer) and len(target) == n:
        bad = (target < 0) | (target >= k)
        if bad.any():
            raise DataError(f"target names {int(bad.sum())} actions outside 0..{k - 1} ({_rows(bad)}).")
        return (target == action).astype(float), None
    probs = target.astype(float)
    if probs.shape not in ((k,), (n, k)):
        raise DataError(
            f"target has shape {probs.shape}; pass the target policy's action probabilities as ({n}, {k}) or ({k},), "
            f"or its deterministic actions as {n} integer arm indices."
        )
    bad_rows = ~np.isfinite(probs).all(axis=-1) | (probs < 0).any(axis=-1) | (np.abs(probs.sum(axis=-1) - 1) > 1e-6)
    if np.any(bad_rows):
        count = int(np.sum(bad_rows))
        raise DataError(f"target has {count} rows of action probabilities that are negative, missing or do not "
                        "sum to 1; normalise them.")
    at = probs[action] if probs.ndim == 1 else probs[np.arange(n), action]
    return at, probs


def _model_values(reward_model: Any, reward: np.ndarray, action: np.ndarray, n: int, k: int) -> np.ndarray:
    """The reward model as (n, K) or (K,) predictions; None means per-arm mean rewards."""
    if reward_model is None:
        sums = np.bincount(action, weights=reward, minlength=k)
        counts = np.bincount(action, minlength=k)
        overall = reward.mean()
        # arms never logged get the overall mean: the model cannot know better
        return np.where(counts > 0, sums / np.maximum(counts, 1), overall)
    q = np.asarray(reward_model, dtype=float)
    if q.shape not in ((k,), (n, k)):
        raise DataError(f"reward_model has shape {q.shape}; pass predicted rewards as ({n}, {k}) or ({k},).")
    if not np.isfinite(q).all():
        raise DataError(f"reward_model has {int((~np.isfinite(q)).sum())} missing or infinite predictions.")
    return q


def _dm_terms(q: np.ndarray, probs: np.ndarray | None, target: np.ndarray, n: int) -> np.ndarray:
    if probs is None:  # deterministic target: q at the target's action
        return q[target] if q.ndim == 1 else q[np.arange(n), target]
    if q.ndim == 1 and probs.ndim == 1:
        return float(q @ probs)  # one number: the same for every row
    if q.ndim == 1:
        return probs @ q
    if probs.ndim == 1:
        return q @ probs
    return np.einsum("ij,ij->i", q, probs)


def _centered_ss(c: np.ndarray | float, n: int) -> tuple[float, float]:
    """Mean and centred sum of squares of per-row terms (a scalar term has no spread)."""
    if np.ndim(c) == 0:
        return float(c), 0.0
    m = float(c.mean())
    d = c - m
    return m, float(d @ d)


def _estimate(method: str, w: np.ndarray, wr: np.ndarray, we: np.ndarray, dm: np.ndarray | float,
              tau: float, noise: np.ndarray | None = None) -> tuple[float, float]:
    """Point estimate and the variance of its influence function (the delta method for ratios).

    ``wr = w r`` and ``we = w (r - q(x, a))`` are shared across estimators so that 10M rows
    take a few passes over memory, not dozens. ``noise`` is the influence of a reward model
    fitted here (per-arm means) on this estimator; it has mean zero.
    """
    n = len(w)
    extra = 0.0 if noise is None else noise
    if method == "ipw":
        m, ss = _centered_ss(wr, n)
    elif method == "dm":
        m, ss = _centered_ss(dm + extra, n)
    elif method == "dr":
        m, ss = _centered_ss(dm + we + extra, n)
    elif method == "switch_dr":
        m, ss = _centered_ss(dm + np.where(w <= tau, we, 0.0) + extra, n)
    else:
        sw = float(w.sum())
        if not sw > 0:  # no logged row the target would take: no self-normalised estimate
            return float("nan"), float("nan")
        wbar = sw / n
        if method == "snipw":
            m = float(wr.sum()) / sw
            d = (wr - m * w) / wbar
        else:  # sndr: mean(dm) + sum(w e) / sum(w), linearised in the ratio
            b = float(we.sum()) / sw
            dm_mean = float(np.mean(dm))
            m = dm_mean + b
            d = (we - b * w) / wbar + extra
            if np.ndim(dm):
                d = d + (dm - dm_mean)
        ss = float(d @ d)
    return m, ss / (n - 1) if n > 1 else float("nan")


def _model_noise(fitted_here: bool, probs: np.ndarray | None, target: np.ndarray, a: np.ndarray, r: np.ndarray,
                 qa: np.ndarray | float, w: np.ndarray, k: int, tau: float):
    """Influence of per-arm mean rewards estimated from the same log, per estimator.

    An estimator that uses the model as ``sum_a pibar_a q_a - mean(c_i w_i q_{a_i})`` moves by
    ``(pibar_a - S_a) / share_a (r_i - q_a)`` on a row of arm ``a``, with ``S_a`` the mean of
    ``c_i w_i`` over the rows of arm ``a`` (c = 1 for DR, 1[w <= tau] for Switch-DR, 1 / mean(w)
    for SNDR, 0 for DM). DR's term is about zero, as it should be; DM's is the model's noise.
    """
    if not fitted_here:
        return lambda method: None
    n = len(a)
    if probs is None:
        pibar = np.bincount(target, minlength=k) / n
    else:
        pibar = probs if probs.ndim == 1 else probs.mean(axis=0)
    share = np.maximum(np.bincount(a, minlength=k) / n, 1e-300)
    resid = (r - qa) / share[a]
    wbar = max(float(w.mean()), 1e-300)
    covered = {"dm": np.zeros(k), "dr": np.bincount(a, weights=w, minlength=k) / n,
               "switch_dr": np.bincount(a, weights=np.where(w <= tau, w, 0.0), minlength=k) / n,
               "sndr": np.bincount(a, weights=w, minlength=k) / n / wbar}

    def noise(method: str) -> np.ndarray | None:
        if method not in covered:
            return None
        return (pibar - covered[method])[a] * resid

    return noise


def _bootstrap(method: str, r, w, dm, qa, tau, alpha, n_boot, seed) -> tuple[float, float, float]:
    """Percentile bootstrap over rows; legacy ``RandomState`` draws so the resamples are those of obp.

    Self-normalised estimators are re-normalised within each resample (obp keeps the
    full-sample normaliser, which understates their variance).
    """
    rng = np.random.RandomState(seed)
    n = len(r)
    stats = np.empty(n_boot)
    chunk = max(1, 4_000_000 // n)
    terms = {"ipw": w * r, "dm": dm, "dr": dm + w * (r - qa), "switch_dr": dm + (w <= tau) * w * (r - qa)}
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.randint(0, n, size=(stop - start, n))
        if method in terms:
            stats[start:stop] = terms[method][idx].mean(axis=1)
        elif method == "snipw":
            stats[start:stop] = (w * r)[idx].sum(axis=1) / w[idx].sum(axis=1)
        else:  # sndr
            stats[start:stop] = dm[idx].mean(axis=1) + (w * (r - qa))[idx].sum(axis=1) / w[idx].sum(axis=1)
    lo, hi = np.percentile(stats, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(lo), float(hi), float(stats.std(ddof=1))


def _diagnostics(w: np.ndarray, p: np.ndarray, probs: np.ndarray | None, target: np.ndarray, action: np.ndarray,
                 k: int, floor: float, tau: float) -> tuple[tuple[Diagnostic, ...], dict[str, float]]:
    n = len(w)
    sw, sw2 = float(w.sum()), float((w * w).sum())
    ess = sw * sw / sw2 if sw2 > 0 else 0.0
    below = float((p < floor).mean())
    summary = {"ess": ess, "ess_share": ess / n, "max_weight": float(w.max()), "mean_weight": float(w.mean()),
               "share_below_floor": below, "share_weight_above_tau": float((w > tau).mean())}
    out = []
    share = ess / n
    out.append(Diagnostic(
        "effective_sample_size", "pass" if share >= 0.1 else ("warn" if share >= 0.01 else "fail"),
        f"The importance weights leave an effective sample of {ess:.0f} of {n} rows ({share:.1%}); "
        + ("enough for IPW-type estimates." if share >= 0.1 else
           "IPW-type estimates rest on few rows: prefer DR / Switch-DR or log with more exploration."),
        statistic=ess, threshold=0.1 * n, assumption="overlap"))
    mw = summary["max_weight"]
    out.append(Diagnostic(
        "max_weight", "pass" if mw <= 0.05 * n else "warn",
        f"The largest importance weight is {mw:.3g} ({mw / max(sw, 1e-300):.1%} of the weight sum); "
        + ("no single row dominates." if mw <= 0.05 * n else "a few rows dominate IPW; read SNIPW, DR or Switch-DR."),
        statistic=mw, threshold=0.05 * n, assumption="overlap"))
    out.append(Diagnostic(
        "propensity_floor", "pass" if below <= 0.01 else "warn",
        f"{below:.2%} of logged propensities are below {floor:g}; "
        + ("coverage of the logging policy is adequate." if below <= 0.01 else
           "those rows carry large weights: raise exploration or use Switch-DR."),
        statistic=below, threshold=0.01, assumption="overlap"))
    # mean weight is 1 in expectation when the target's support is inside the logging policy's
    se_w = float(w.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    z = (summary["mean_weight"] - 1) / se_w if se_w > 0 else 0.0
    out.append(Diagnostic(
        "mean_weight", "pass" if abs(z) <= 3 else "warn",
        f"The mean importance weight is {summary['mean_weight']:.3f} (1 expected; z = {z:.1f}); "
        + ("propensities and support look consistent." if abs(z) <= 3 else
           "logged propensities may be wrong or the target acts where the log never did."),
        statistic=summary["mean_weight"], threshold=1.0, assumption="overlap"))
    logged_arms = np.bincount(action, minlength=k) > 0
    if probs is None:
        mass = float(np.mean(~logged_arms[target]))
    else:
        mass_per_arm = probs if probs.ndim == 1 else probs.mean(axis=0)
        mass = float(mass_per_arm[~logged_arms].sum())
    summary["target_mass_unlogged"] = mass
    out.append(Diagnostic(
        "support", "pass" if mass == 0 else ("warn" if mass < 0.05 else "fail"),
        (f"The target policy puts {mass:.1%} of its probability on arms the log never shows; "
         "IPW-type estimates miss that part and only the reward model speaks for it.") if mass > 0 else
        "Every arm the target policy uses appears in the log.",
        statistic=mass, threshold=0.0, assumption="overlap"))
    return tuple(out), summary


def evaluate_policy(
    data: pd.DataFrame | None = None,
    *,
    action: Any,
    reward: Any,
    propensity: Any,
    target: Any,
    reward_model: Any = None,
    arms: Sequence[Any] | None = None,
    methods: Sequence[str] = OPE_METHODS,
    alpha: float = 0.05,
    ci: Literal["normal", "bootstrap"] = "normal",
    n_boot: int = 2000,
    seed: int = 0,
    switch_tau: float = 10.0,
    propensity_floor: float = 0.01,
) -> PolicyValue:
    """Estimate the value of a target policy from logged bandit data.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        The log. When given, ``action``, ``reward`` and ``propensity`` may be column names.
    action, reward, propensity : str or array
        Logged arm, observed reward (e.g. profit per visit) and the logging policy's
        probability of the logged arm, in (0, 1].
    target : array
        The target policy: action probabilities ``(n, K)`` per row, ``(K,)`` for a
        context-free policy, or ``n`` integer arm indices for a deterministic one.
    reward_model : array, optional
        Predicted rewards ``(n, K)`` or ``(K,)`` for the DM-based estimators (cross-fit them).
        A supplied model is treated as fixed: the DM interval then shows only the spread of
        its predictions. By default, the per-arm mean logged reward (a context-free model),
        whose estimation noise the DM interval includes.
    arms : sequence, optional
        Arm labels in the order of the target's columns, when ``action`` holds labels
        (prices) rather than indices 0..K-1.
    methods : sequence of str
        Any of ``OPE_METHODS``.
    alpha : float
        1 - the interval level.
    ci : {"normal", "bootstrap"}
        Normal intervals from the influence function, or a percentile bootstrap over rows.
    n_boot, seed : int
        Bootstrap resamples and their seed.
    switch_tau : float
        Weights above this switch the DR correction off (Switch-DR).
    propensity_floor : float
        Propensities below it are counted in the ``propensity_floor`` diagnostic.

    Returns
    -------
    PolicyValue

    Examples
    --------
    >>> import numpy as np
    >>> from causal_kit.bandits.ope import evaluate_policy
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 3, 5_000)                        # uniform logging over 3 prices
    >>> r = rng.binomial(1, np.array([0.2, 0.3, 0.5])[a])    # conversions
    >>> res = evaluate_policy(action=a, reward=r, propensity=np.full(5_000, 1 / 3),
    ...                       target=np.array([0.0, 0.0, 1.0]))
    >>> round(res.estimate("snipw"), 1)
    0.5
    """
    from .._typing import check_option

    check_option(ci, Literal["normal", "bootstrap"], "ci", "evaluate_policy")
    unknown = [m for m in methods if m not in OPE_METHODS]
    if unknown or not methods:
        raise SpecError(f"The 'methods' parameter of evaluate_policy must be a non-empty subset of "
                        f"{list(OPE_METHODS)}. Got {list(methods)} instead.")
    if not 0 < alpha < 1:
        raise SpecError(f"The 'alpha' parameter of evaluate_policy must be a float in (0, 1). Got {alpha!r} instead.")
    if not switch_tau > 0:
        raise SpecError(f"The 'switch_tau' parameter of evaluate_policy must be > 0. Got {switch_tau!r} instead.")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame of logged rows; got {type(data).__name__}.")
    a_raw = _column(data, action, "action")
    r = _column(data, reward, "reward")
    _numeric(r, "reward")
    r = r.astype(float, copy=False)
    p = _column(data, propensity, "propensity")
    _numeric(p, "propensity")
    p = p.astype(float, copy=False)
    n = len(a_raw)
    if not (len(r) == len(p) == n) or n == 0:
        raise DataError(f"action, reward and propensity must have the same non-zero length; got {n}, {len(r)}, {len(p)}.")
    tgt = np.asarray(target)
    k_hint = tgt.shape[-1] if tgt.dtype.kind == "f" else None
    if k_hint is None and reward_model is not None:
        k_hint = np.asarray(reward_model).shape[-1]
    a, k = _encode_actions(a_raw, arms, k_hint)
    for name, values in (("reward", r), ("propensity", p)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataError(f"{name} has {int(bad.sum())} missing or infinite values ({_rows(bad)}); "
                            "fill or drop those rows before evaluating.")
    bad = (p <= 0) | (p > 1)
    if bad.any():
        raise DataError(
            f"propensity has {int(bad.sum())} values outside (0, 1] ({_rows(bad)}, e.g. {p[bad][0]!r}); "
            "a logged action must have had a positive probability under the logging policy: log the "
            "probability the policy actually used."
        )
    pi_at, probs = _target_at(tgt, a, n, k)
    w = pi_at / p
    needs_model = any(m in _NEEDS_MODEL for m in methods)
    if needs_model:
        q = _model_values(reward_model, r, a, n, k)
        dm = _dm_terms(q, probs, tgt, n)
        qa = q[a] if q.ndim == 1 else q[np.arange(n), a]
    else:
        dm, qa = 0.0, 0.0
    wr = w * r
    we = w * (r - qa) if needs_model else wr
    noise_of = _model_noise(reward_model is None and needs_model, probs, tgt, a, r, qa, w, k, switch_tau)
    from scipy.stats import norm

    zcrit = float(norm.ppf(1 - alpha / 2))
    rows = []
    for m in methods:
        value, var = _estimate(m, w, wr, we, dm, switch_tau, noise_of(m))
        if ci == "normal":
            se = float(np.sqrt(var / n))
            lo, hi = value - zcrit * se, value + zcrit * se
        else:
            lo, hi, se = _bootstrap(m, r, w, np.broadcast_to(dm, (n,)), np.broadcast_to(qa, (n,)), switch_tau,
                                    alpha, n_boot, seed)
        rows.append({"method": m, "estimate": value, "se": se, "ci_low": lo, "ci_high": hi})
    diags, summary = _diagnostics(w, p, probs, tgt if probs is None else None, a, k, propensity_floor, switch_tau)
    return PolicyValue(table=pd.DataFrame(rows), diagnostics=diags, n_obs=n, logged_value=float(r.mean()),
                       alpha=alpha, ci_method=ci, weights_summary=summary)


def fit_reward_model(context: np.ndarray | pd.DataFrame, action: np.ndarray, reward: np.ndarray, n_arms: int, *,
                     n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Cross-fitted predicted rewards ``(n, n_arms)`` from contexts, for the DM-based estimators.

    One gradient-boosting regressor on the context and a one-hot of the action, fitted on the
    other folds and predicted for every arm on the held-out fold, so that no row's prediction
    has seen its own reward (the DR estimators stay unbiased when the model is wrong).

    Examples
    --------
    >>> import numpy as np
    >>> from causal_kit.bandits.ope import fit_reward_model
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(600, 2)); a = rng.integers(0, 3, 600); r = x[:, 0] + a + rng.normal(size=600)
    >>> fit_reward_model(x, a, r, 3, n_folds=2).shape
    (600, 3)
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold

    x = np.asarray(context, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    a = np.asarray(action)
    r = np.asarray(reward, dtype=float)
    n = len(r)
    if x.shape[0] != n or len(a) != n:
        raise DataError(f"context, action and reward must have the same number of rows; got {x.shape[0]}, {len(a)}, {n}.")
    if not np.isfinite(x).all():
        raise DataError(f"context has {int((~np.isfinite(x)).sum())} missing or infinite values; fill them first.")
    if not (np.issubdtype(a.dtype, np.integer) and a.min() >= 0 and a.max() < n_arms):
        raise DataError(f"action must hold integer arm indices 0..{n_arms - 1}.")
    eye = np.eye(n_arms)
    out = np.empty((n, n_arms))
    for train, test in KFold(n_splits=n_folds, shuffle=True, random_state=seed).split(x):
        model = HistGradientBoostingRegressor(max_iter=200, random_state=seed)
        model.fit(np.hstack([x[train], eye[a[train]]]), r[train])
        for arm in range(n_arms):
            out[test, arm] = model.predict(np.hstack([x[test], np.broadcast_to(eye[arm], (len(test), n_arms))]))
    return out


def _numeric(values: np.ndarray, role: str) -> bool:
    if values.dtype.kind not in "iufb":
        raise DataError(f"{role} holds {values.dtype} values; it must be numeric. Convert the column first.")
    return True
