"""Placebo inference for synthetic control and SDID, batched over placebo units.

In-space placebos pretend, in turn, that each control unit was treated and re-fit the
method on the remaining controls; in-time placebos move the treatment date back into the
pre-period. Every placebo of a study shares the donor matrix, so the fits are solved as one
batch (see :mod:`causal_kit.solvers.simplex`) rather than in a Python loop.

Functions
---------
rmspe_ratio_test(gaps, T0, treated)
    Post/pre RMSPE ratios, the treated unit's rank and the permutation p-value (Abadie,
    Diamond & Hainmueller 2010).
sc_placebo_gaps(X, Y, donors, T0, ...)
    Gaps of synthetic-control fits in which each donor plays the treated unit.
sc_set_placebo_effects(X, Y, donors, T0, draws, ...)
    Synthetic-control placebo estimates that re-assign the whole treated set.
placebo_interval(estimate, effects, alpha)
    Test-inversion interval, rank p-value and implied SE from placebo estimates.
unit_scales(Y, T0) / scales_heterogeneous(scales)
    Per-unit scales of a level-scale panel and whether they are heterogeneous.
permutation_interval(estimate, a, b, alpha) / sc_permutation_draws(...)
    Fisher randomisation test over re-assignments among all units, inverted for an interval.
sdid_placebo_estimates(Y_controls, T0, draws, ...)
    SDID / SC / DiD estimates with pseudo-treated controls (Arkhangelsky et al. 2021,
    Algorithm 4), all draws in one batch.
placebo_draws(n_controls, n_treated, n_reps, seed, exhaustive)
    Which controls play the treated units in each placebo replicate.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..solvers.simplex import sdid_time_weights, sdid_unit_weights, simplex_weights

__all__ = ["rmspe_ratio_test", "sc_placebo_gaps", "sdid_placebo_estimates", "placebo_draws",
           "aggregate_placebo_effects", "sc_set_placebo_effects", "placebo_interval", "unit_scales",
           "scales_heterogeneous", "HETEROGENEITY_THRESHOLD", "interval_text", "permutation_interval",
           "sc_permutation_draws"]

#: SD of log unit scales above which a panel counts as level-scale heterogeneous (geo sizes
#: spread over more than about a factor e^0.5 = 1.65 per SD). Prop 99's states: 0.21; a
#: log-normal geo panel with SD 1 of log size: about 0.95.
HETEROGENEITY_THRESHOLD = 0.5


def rmspe_ratio_test(gaps: np.ndarray, T0: int, treated: int = 0) -> dict[str, np.ndarray | float | int]:
    """Post/pre RMSPE ratios and the treated unit's permutation p-value.

    Parameters
    ----------
    gaps : (B, T) array
        Outcome minus synthetic outcome for the treated unit and every placebo.
    T0 : int
        Number of pre-periods (the first ``T0`` columns).
    treated : int
        Row of ``gaps`` holding the treated unit.

    Returns
    -------
    dict with ``pre_rmspe``, ``post_rmspe``, ``ratio`` (arrays), ``rank`` (1 = largest ratio)
    and ``p_value`` = rank / B.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([[0.1, -0.1, 5.0], [1.0, -1.0, 1.0], [0.5, 0.5, 0.2]])
    >>> rmspe_ratio_test(g, T0=2)["rank"]
    1
    """
    gaps = np.asarray(gaps, dtype=float)
    pre = np.sqrt(np.mean(gaps[:, :T0] ** 2, axis=1))
    post = np.sqrt(np.mean(gaps[:, T0:] ** 2, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pre > 0, post / pre, np.inf)
    rank = int(1 + np.sum(ratio > ratio[treated]))
    return {"pre_rmspe": pre, "post_rmspe": post, "ratio": ratio, "rank": rank,
            "p_value": rank / len(ratio)}


def sc_placebo_gaps(
    X: np.ndarray,
    Y: np.ndarray,
    donors: np.ndarray,
    *,
    weights_fn=None,
    method: Literal["active_set", "pgd", "frank_wolfe"] = "active_set",
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic-control gaps when each donor, in turn, plays the treated unit.

    The treated unit is left out of every placebo's donor pool (as in Abadie, Diamond &
    Hainmueller 2010): placebo ``j`` is matched on the other donors only.

    Parameters
    ----------
    X : (P, N) array
        Matching matrix (scaled predictors or pre-period outcomes), one column per unit.
    Y : (N, T) array
        Outcomes of every unit.
    donors : (N0,) int array
        Columns of ``X`` / rows of ``Y`` that form the donor pool.
    weights_fn : callable, optional
        ``weights_fn(j) -> (N0,) weights`` to refit each placebo in another way (e.g. with its
        own V matrix); by default one batched simplex solve on ``X``.
    method : str
        Solver of :func:`causal_kit.solvers.simplex.simplex_weights`.

    Returns
    -------
    gaps : (N0, T) array, outcome minus synthetic outcome per placebo
    W : (N0, N0) array, row ``j`` the weights of placebo ``j`` over the donors

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(6, 8))
    >>> gaps, W = sc_placebo_gaps(Y[:, :5].T, Y, np.arange(1, 6))
    >>> gaps.shape, bool(np.allclose(W.sum(axis=1), 1))
    ((5, 8), True)
    """
    donors = np.asarray(donors)
    Xd = np.asarray(X, dtype=float)[:, donors]
    n0 = len(donors)
    if weights_fn is None:
        mask = ~np.eye(n0, dtype=bool)
        W = simplex_weights(Xd, Xd.T, method=method, mask=mask)
    else:
        W = np.vstack([weights_fn(j) for j in range(n0)])
    Yd = np.asarray(Y, dtype=float)[donors]
    gaps = Yd - W @ Yd
    return gaps, W


def placebo_draws(n_controls: int, n_treated: int, n_reps: int, seed: int | None,
                  exhaustive: bool = False) -> np.ndarray:
    """Indices of the controls that play the treated units, one row per placebo replicate.

    With ``exhaustive`` and one treated unit every control is used once (seed-free);
    otherwise ``n_reps`` random subsets of size ``n_treated`` are drawn with ``seed``.

    Examples
    --------
    >>> placebo_draws(4, 1, 10, seed=0, exhaustive=True).ravel().tolist()
    [0, 1, 2, 3]
    """
    if exhaustive and n_treated == 1:
        return np.arange(n_controls)[:, None]
    rng = np.random.default_rng(seed)
    keys = rng.random((n_reps, n_controls))
    return np.argsort(keys, axis=1)[:, :n_treated]


def sdid_placebo_estimates(
    Y_controls: np.ndarray,
    T0: int,
    draws: np.ndarray,
    *,
    estimator: Literal["sdid", "sc", "did"] = "sdid",
    omega: np.ndarray | None = None,
    lam: np.ndarray | None = None,
    zeta_omega: float = 0.0,
    zeta_lambda: float = 0.0,
    min_decrease: float = 1e-5,
    max_iter: int = 10_000,
    scale: np.ndarray | None = None,
    return_weights: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Placebo estimates of SDID, SC or DiD with pseudo-treated controls, in one batch.

    Follows Algorithm 4 of Arkhangelsky et al. (2021) as implemented in R synthdid's
    ``placebo_se``: the regularisation (``zeta``) and stopping rule stay those of the
    original fit, the unit weights start from the original weights restricted to the
    remaining controls, and both unit and time weights are re-estimated for every draw.

    Time weights: synthdid starts them from the original fit's ``lambda``. That ``lambda``
    was fitted to the post-period means of all controls, the pseudo-treated included; when
    there are more pre-periods than controls (e.g. daily geo panels) it reproduces those
    means almost exactly, the refit stops at its first step and the placebo estimates
    shrink towards zero. Pass ``lam=None`` (uniform start, what
    :class:`~causal_kit.estimators.sdid.SyntheticDiD` does) to avoid that leak; pass the
    original ``lambda`` only to reproduce synthdid draw by draw.

    Parameters
    ----------
    Y_controls : (N0, T) array
        Outcomes of the control units only.
    T0 : int
        Pre-periods.
    draws : (B, N1) int array
        Rows of ``Y_controls`` acting as treated in each replicate (:func:`placebo_draws`).
    estimator : {"sdid", "sc", "did"}
    omega, lam : arrays, optional
        Starting unit (N0,) and time (T0,) weights (default uniform); see above for why the
        original time weights are a biased start.
    zeta_omega, zeta_lambda, min_decrease, max_iter
        Settings of the original fit.
    scale : (B, N1) array, optional
        Multiplier of each pseudo-treated unit's outcomes (default 1). With the ratio of the
        treated unit's scale to the pseudo-treated unit's, every placebo carries the treated
        units' magnitudes (level-scale panels whose units differ widely in size).

    return_weights : bool
        Also return the unit weights ``(B, N0)`` and time weights ``(B, T0)`` of every draw.

    Returns
    -------
    (B,) array of placebo estimates (and the weights with ``return_weights``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> Y0 = rng.normal(size=(10, 6))
    >>> est = sdid_placebo_estimates(Y0, 4, placebo_draws(10, 1, 0, None, True), estimator="did")
    >>> est.shape
    (10,)
    """
    Y0 = np.asarray(Y_controls, dtype=float)
    n0, _ = Y0.shape
    draws = np.atleast_2d(np.asarray(draws, dtype=int))
    B = draws.shape[0]
    pseudo = np.zeros((B, n0), dtype=bool)
    pseudo[np.arange(B)[:, None], draws] = True
    keep = ~pseudo
    pre, post = Y0[:, :T0], Y0[:, T0:].mean(axis=1)
    coef = np.zeros((B, n0))
    mult = np.ones(draws.shape) if scale is None else np.asarray(scale, dtype=float)
    coef[np.arange(B)[:, None], draws] = mult / draws.shape[1]
    tr_pre = coef @ pre
    tr_post = coef @ post
    if estimator == "did":
        W = keep / keep.sum(axis=1, keepdims=True)
        L = np.full((B, T0), 1.0 / T0)
    else:
        init = None if omega is None else np.where(keep, omega[None, :], 0.0)
        W = sdid_unit_weights(pre, tr_pre, zeta_omega, intercept=estimator == "sdid", init=init,
                              mask=keep, min_decrease=min_decrease, max_iter=max_iter)
        if estimator == "sc":
            L = np.zeros((B, T0))
        else:
            L = sdid_time_weights(pre, post, zeta_lambda, init=lam, row_mask=keep,
                                  min_decrease=min_decrease, max_iter=max_iter)
    synth_pre = W @ pre
    synth_post = W @ post
    est = (tr_post - synth_post) - ((tr_pre - synth_pre) * L).sum(axis=1)
    return (est, W, L) if return_weights else est


def aggregate_placebo_effects(effects: list[np.ndarray], sizes: list[int], weights: np.ndarray,
                              n_reps: int = 200, seed: int | None = 0) -> np.ndarray:
    """Placebo distribution of an average over several treated units (and cohorts).

    ``effects[g]`` holds each donor's single-unit placebo effect for cohort ``g``. With one
    treated unit per cohort the placebo estimate of donor ``j`` is the cohort-weighted sum of
    its effects. When a cohort has ``n_g > 1`` treated units, the estimate averages ``n_g``
    units, so each replicate averages ``n_g`` randomly drawn donors' effects (without
    replacement when there are enough donors), weighted across cohorts by ``weights``.

    Kept for comparison only: this was synthetic control's former default with several
    treated units, and a placebo study found it rejecting a true null 11.8% of the time at 5%
    (it ignores that the treated units share donors); the estimators now use
    :func:`sc_permutation_draws` and :func:`permutation_interval`.

    Examples
    --------
    >>> import numpy as np
    >>> eff = [np.arange(10.0)]
    >>> aggregate_placebo_effects(eff, [1], np.array([1.0])).tolist() == list(range(10))
    True
    >>> aggregate_placebo_effects(eff, [3], np.array([1.0]), n_reps=50, seed=1).shape
    (50,)
    """
    weights = np.asarray(weights, dtype=float)
    if all(n == 1 for n in sizes):
        return sum(w * np.asarray(e, dtype=float) for w, e in zip(weights, effects))
    rng = np.random.default_rng(seed)
    out = np.zeros(n_reps)
    for w, e, n in zip(weights, effects, sizes):
        e = np.asarray(e, dtype=float)
        if n <= len(e):
            idx = np.argsort(rng.random((n_reps, len(e))), axis=1)[:, :n]
        else:
            idx = rng.integers(0, len(e), size=(n_reps, n))
        out += w * e[idx].mean(axis=1)
    return out


def unit_scales(Y: np.ndarray, T0: int) -> np.ndarray:
    """Per-unit scale: the mean absolute pre-period outcome (``NaN`` where it is zero).

    Examples
    --------
    >>> import numpy as np
    >>> unit_scales(np.array([[1.0, 3.0, 9.0], [10.0, 30.0, 0.0]]), 2).tolist()
    [2.0, 20.0]
    """
    s = np.abs(np.asarray(Y, dtype=float)[:, :T0]).mean(axis=1)
    return np.where(s > 0, s, np.nan)


def scales_heterogeneous(scales: np.ndarray, threshold: float = HETEROGENEITY_THRESHOLD) -> tuple[bool, float]:
    """Whether unit scales spread widely (SD of their logs above ``threshold``), and that SD.

    Examples
    --------
    >>> import numpy as np
    >>> scales_heterogeneous(np.array([1.0, 1.1, 0.9]))[0], scales_heterogeneous(np.array([1.0, 10.0, 100.0]))[0]
    (False, True)
    """
    s = np.asarray(scales, dtype=float)
    if not np.all(np.isfinite(s)) or np.any(s <= 0) or len(s) < 2:
        return False, float("nan")
    sd = float(np.std(np.log(s), ddof=1))
    return sd > threshold, sd


def sc_set_placebo_effects(
    X: np.ndarray,
    Y: np.ndarray,
    donors: np.ndarray,
    T0: int,
    draws: np.ndarray,
    *,
    treated_scale: np.ndarray | None = None,
    method: Literal["active_set", "pgd", "frank_wolfe"] = "active_set",
) -> np.ndarray:
    """Synthetic-control placebo estimates that re-assign the whole treated set.

    Replicate ``b`` pretends that the donors ``draws[b]`` (as many as there are treated
    units) were treated: each is matched on the *other* donors, leaving the whole
    pseudo-treated set out of every pool (as the real treated units are left out), and the
    replicate's estimate is the average post-period gap, exactly as the estimator averages
    the treated units. Each pseudo-treated gap is multiplied by the scale of the treated unit
    it stands in for (``treated_scale``, when ``Y`` is the standardised panel), so the
    placebo carries the treated units' own magnitude: on a level-scale geo panel, a large
    treated geo is mimicked by a donor blown up to its size rather than by a small donor.

    Parameters
    ----------
    X : (P, N) array
        Matching matrix (pre-period outcomes or scaled predictors, V-weighted), per unit.
    Y : (N, T) array
        Outcomes in the scale the weights are fitted on.
    donors : (N0,) int array
        Columns of ``X`` / rows of ``Y`` forming the donor pool.
    T0 : int
        First post-period column.
    draws : (B, N1) int array
        Positions in ``donors`` of each replicate's pseudo-treated units (:func:`placebo_draws`).
    treated_scale : (N1,) array, optional
        Scale of each treated unit (default 1: ``Y`` in levels).

    Returns
    -------
    (B,) array of placebo estimates.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(12, 10))
    >>> eff = sc_set_placebo_effects(Y[:, :7].T, Y, np.arange(2, 12), 7, placebo_draws(10, 2, 30, 1))
    >>> eff.shape
    (30,)
    """
    donors = np.asarray(donors)
    draws = np.atleast_2d(np.asarray(draws, dtype=int))
    B, n1 = draws.shape
    Xd = np.asarray(X, dtype=float)[:, donors]
    flat = draws.ravel()
    mask = np.ones((B, len(donors)), dtype=bool)
    mask[np.arange(B)[:, None], draws] = False
    mask = np.repeat(mask, n1, axis=0)
    W = simplex_weights(Xd, Xd[:, flat].T, method=method, mask=mask)
    post = np.asarray(Y, dtype=float)[donors, T0:].mean(axis=1)
    gaps = (post[flat] - W @ post).reshape(B, n1)
    scale = np.ones(n1) if treated_scale is None else np.asarray(treated_scale, dtype=float)
    return (gaps * scale[None, :]).mean(axis=1)


def placebo_interval(estimate: float, effects: np.ndarray, alpha: float) -> dict[str, float | str]:
    """Interval, p-value and SE from placebo estimates of the estimator's error under the null.

    With enough placebo estimates (``(B + 1) alpha >= 5``, i.e. ``B >= 99`` at 5%) the
    placebo test of ``H0: tau = tau0`` is inverted: the p-value is the rank of
    ``|estimate|``, ``(1 + #{|e| >= |estimate|}) / (B + 1)``, and the interval is
    ``estimate +- q`` with ``q`` the ``ceil((1 - alpha)(B + 1))``-th smallest ``|e|`` (the
    finite-sample permutation quantile), so it excludes 0 exactly when ``p <= alpha`` (up to
    ties). The SE is the one this interval implies, ``q / z_{1 - alpha / 2}``. The quantile,
    not the SD, keeps the size when the placebo distribution has heavy tails (a few large
    units). With fewer estimates (one treated unit: one placebo per control), the attainable
    permutation levels are too coarse (``1 / (B + 1)`` steps: 2.6% with 37 controls) and the
    placebo SE of Arkhangelsky et al. (2021), the SD of the estimates, gives a normal interval.
    ``kind`` says which was used.

    Examples
    --------
    >>> import numpy as np
    >>> out = placebo_interval(3.0, np.linspace(-2, 2, 199), 0.05)
    >>> out["kind"], round(out["p_value"], 3), out["ci_low"] < 3.0 < out["ci_high"]
    ('quantile', 0.005, True)
    >>> placebo_interval(3.0, np.linspace(-2, 2, 20), 0.05)["kind"]
    'normal'
    """
    from scipy.special import ndtr, ndtri

    e = np.abs(np.asarray(effects, dtype=float))
    B = len(e)
    z = float(ndtri(1 - alpha / 2))
    if (B + 1) * alpha < 5:
        se = float(np.std(effects))
        p = float(2 * ndtr(-abs(estimate) / se)) if se > 0 else float("nan")
        return {"ci_low": estimate - z * se, "ci_high": estimate + z * se, "p_value": p, "se": se,
                "half_width": z * se, "kind": "normal"}
    k = int(np.ceil((1 - alpha) * (B + 1)))
    q = float(np.sort(e)[k - 1])
    p = float((1 + np.sum(e >= abs(estimate) - 1e-12 * max(abs(estimate), 1.0))) / (B + 1))
    return {"ci_low": estimate - q, "ci_high": estimate + q, "p_value": p, "se": q / z, "half_width": q,
            "kind": "quantile"}


def interval_text(kind: str, alpha: float) -> str:
    """How :func:`placebo_interval` built the interval, for a result's ``inference`` string."""
    if kind == "quantile":
        return (f"CI = estimate +- the {1 - alpha:.0%} quantile of |placebo estimates| (test inversion, robust "
                "to the heavy tails of a few large units), p-value from the rank of |estimate|, SE = "
                "half-width / z (the SE the interval implies)")
    return ("SE = SD of the placebo estimates with a normal CI and p-value (too few placebo estimates "
            "for a permutation quantile)")


def permutation_interval(estimate: float, a: np.ndarray, b: np.ndarray, alpha: float,
                         max_width: float = 1e3, mid_p: bool = False) -> dict[str, float]:
    """Fisher randomisation test and its inversion for estimators linear in a constant effect.

    Draw ``s`` re-assigns the treatment to a random set of units drawn from *all* units (the
    treated included) and re-runs the estimator on outcomes with a hypothesised constant
    effect ``tau0`` removed from the treated units' post-periods. For estimators whose
    weights use pre-period data only (synthetic control, DiD) that placebo estimate is
    linear in ``tau0``: ``a[s] - tau0 * b[s]``, where ``a[s]`` is the placebo estimate on the
    observed outcomes and ``b[s]`` the weight the assignment puts on the treated units'
    post-periods (1 for the observed assignment). The observed statistic is
    ``estimate - tau0``. Under random assignment the test of the sharp null is exact, whatever
    the units' heterogeneity, and the placebo units are fitted on as many donors as the
    treated were. ``p(tau0) = (1 + #{|a - tau0 b| >= |estimate - tau0|}) / (B + 1)``; the
    interval is every ``tau0`` with ``p(tau0) > alpha``, its ends found by bisection. The SE
    is the one the interval implies, ``(high - low) / (2 z_{1 - alpha / 2})``.

    With ``mid_p`` the draws enumerate every assignment, the observed one included, and the
    p-value is Lancaster's mid-p, ``(#{|d| > |t|} + #{|d| = |t|} / 2) / B``: with one treated
    unit among 38 the plain permutation test can only reach 2.6% (the treated unit must rank
    first), the mid-p test rejects when it ranks first or second (5.3%).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=499), rng.uniform(-0.3, 0.3, size=499)
    >>> out = permutation_interval(0.5, a, b, 0.05)
    >>> out["ci_low"] < 0.5 < out["ci_high"], out["p_value"] > 0.05
    (True, True)
    """
    from scipy.special import ndtri

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    B = len(a)

    def p_at(tau0: float) -> float:
        stat = abs(estimate - tau0)
        tol = 1e-12 * max(stat, 1.0)
        d = np.abs(a - tau0 * b)
        if mid_p:
            return float((np.sum(d > stat + tol) + 0.5 * np.sum(np.abs(d - stat) <= tol)) / B)
        return float((1 + np.sum(d >= stat - tol)) / (B + 1))

    scale = float(np.quantile(np.abs(a), 0.95)) or float(np.std(a)) or 1.0

    def edge(sign: float) -> float:
        inside, outside, dist = estimate, None, 1.0
        while dist <= max_width:
            trial = estimate + sign * dist * scale
            if p_at(trial) <= alpha:
                outside = trial
                break
            inside, dist = trial, dist * 2.0
        if outside is None:
            return float(np.copysign(np.inf, sign))
        for _ in range(60):
            mid = 0.5 * (inside + outside)
            if p_at(mid) > alpha:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) <= 1e-9 * scale:
                break
        return float(0.5 * (inside + outside))

    lo, hi = edge(-1.0), edge(1.0)
    z = float(ndtri(1 - alpha / 2))
    se = (hi - lo) / (2 * z) if np.isfinite(hi - lo) else float("nan")
    return {"ci_low": lo, "ci_high": hi, "p_value": p_at(0.0), "se": se}


def sc_permutation_draws(
    X: np.ndarray,
    Y: np.ndarray,
    universe: np.ndarray,
    treated: np.ndarray,
    T0: int,
    draws: np.ndarray,
    *,
    scales: np.ndarray | None = None,
    method: Literal["active_set", "pgd", "frank_wolfe"] = "active_set",
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic-control estimates under random re-assignments over all units, as ``(a, b)``.

    Replicate ``s`` treats the units ``universe[draws[s]]`` (as many as there are treated
    units; the real treated units may be among them, or among the donors): each is matched on
    the other units of ``universe`` and the replicate's estimate averages their post-period
    gaps in levels (each gap times the unit's scale when ``Y`` is the rescaled panel), exactly
    as the estimator does. ``b[s]`` is the same average applied to the indicator of the real
    treated units' post-periods, so that removing an effect averaging ``tau0`` from them moves
    the replicate to ``a[s] - tau0 * b[s]`` (see :func:`permutation_interval`): a constant
    effect in levels. With ``scales`` the test is run relative to size: the effect is
    proportional to each treated unit's scale (a constant relative effect, the natural null of
    a multiplicative lift) and each draw's estimate is divided by its units' mean scale, then
    expressed in the treated units' level units (``a = s_T a_S / s_S``, ``b = s_T b'_S``; divide
    ``b`` by ``s_T`` before :func:`permutation_interval`).

    Parameters
    ----------
    X : (P, N) array, matching matrix per unit (V-weighted).
    Y : (N, T) array, outcomes in the scale the weights are fitted on.
    universe : (n,) int array, the units that may be assigned (controls and treated).
    treated : (n,) bool array, which of ``universe`` are really treated.
    T0 : int, first post-period column.
    draws : (B, N1) int array of positions in ``universe``.
    scales : (N,) array, optional, unit scales mapping ``Y`` back to levels.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(12, 10))
    >>> a, b = sc_permutation_draws(Y[:, :7].T, Y, np.arange(12), np.arange(12) < 2, 7,
    ...                             placebo_draws(12, 2, 30, 1))
    >>> a.shape, bool(np.all(np.abs(b) <= 1 + 1e-9))
    ((30,), True)
    """
    universe = np.asarray(universe)
    draws = np.atleast_2d(np.asarray(draws, dtype=int))
    B, n1 = draws.shape
    n = len(universe)
    s = np.ones(np.asarray(Y).shape[0]) if scales is None else np.asarray(scales, dtype=float)
    Xu = np.asarray(X, dtype=float)[:, universe]
    mask = np.ones((B, n), dtype=bool)
    mask[np.arange(B)[:, None], draws] = False
    flat = draws.ravel()
    W = simplex_weights(Xu, Xu[:, flat].T, method=method, mask=np.repeat(mask, n1, axis=0))
    su = s[universe]
    post = np.asarray(Y, dtype=float)[universe, T0:].mean(axis=1)
    t = np.asarray(treated, dtype=float)
    a = (su[flat] * (post[flat] - W @ post)).reshape(B, n1).mean(axis=1)
    if scales is None:
        b = (t[flat] - W @ t).reshape(B, n1).mean(axis=1)
        return a, b
    # With unit scales the test runs on the relative scale: the hypothesised effect is
    # proportional to each treated unit's size (a constant relative effect, the null of a
    # multiplicative lift) and each draw's estimate is divided by its units' mean scale. In
    # levels, a draw holding the largest treated geo would swing with tau0 by more than the
    # observed estimate does and leave the interval unbounded; relative to size, |b| <= 1.
    # Returned in the treated units' level units: a = s_T * a_S / s_S, b = s_T * b'_S, where
    # b'_S = sum_j s_j (t_j - (W t)_j) / sum_j s_j (1 for the observed assignment).
    s_T = float(su[t > 0].mean()) if (t > 0).any() else 1.0
    s_S = su[flat].reshape(B, n1).mean(axis=1)
    b_rel = (su[flat] * (t[flat] - W @ t)).reshape(B, n1).sum(axis=1) / (s_S * n1)
    return s_T * a / s_S, s_T * b_rel
