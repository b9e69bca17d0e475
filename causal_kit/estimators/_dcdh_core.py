"""Array core of the de Chaisemartin-D'Haultfoeuille estimators for treatments that switch.

Works on dense ``(G, T)`` arrays: the outcome ``Y`` (NaN where a group-period is missing)
and a 0/1 treatment ``D``. For each group ``g`` it finds the status-quo treatment
``D_g1``, the first period ``F_g`` where treatment differs from the previous period and
the direction ``S_g`` (+1 joins, -1 leaves). The dynamic effect ``l`` periods after the
switch compares the switcher's outcome change ``Y_{g,F_g-1+l} - Y_{g,F_g-1}`` with the
mean change of the groups with the same status quo that have not switched by then
(de Chaisemartin & D'Haultfoeuille 2024, ``did_multiplegt_dyn``); placebos compare the
change ``Y_{g,F_g-1-l} - Y_{g,F_g-1}`` over the same control sets.

Variances are the authors' analytic plug-in: each group's influence value
``U_g`` (its own signed change as a switcher, minus its share of the control means it
enters) is centred within its cohort ``(D_g1, F_g, S_g)`` and
``se = sqrt(sum_g (U_g - mean_cohort U)^2) / N_l``. Groups whose status quo is unique
have no cohort peer and enter the point estimate only. Written here with numpy because
the estimator is a set of masked means per (status quo, switch period) cell: cumulating the
potential controls' outcome sums by how long they stay controls turns each horizon into a
few (G, T) array operations, which keeps 10,000 groups x 40 periods well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SwitchMeta", "switch_metadata", "HorizonFit", "dynamic_effects", "cohort_se"]


@dataclass(frozen=True)
class SwitchMeta:
    """Per-group switch bookkeeping (column indices, 0-based)."""

    baseline: np.ndarray  # (G,) D_g1
    first_switch: np.ndarray  # (G,) F_g, -1 for groups that never switch
    direction: np.ndarray  # (G,) S_g: +1 joiner, -1 leaver, 0 never switches
    last_control: np.ndarray  # (G,) T_g: last period with a same-status-quo group not yet switched
    cohort: np.ndarray  # (G,) cohort code for the variance, -1 outside the variance sample


def switch_metadata(D: np.ndarray, observed: np.ndarray) -> SwitchMeta:
    """Status quo, first switch, direction, last control period and variance cohort of each group."""
    g, t = D.shape
    both = observed[:, 1:] & observed[:, :-1]
    change = (D[:, 1:] != D[:, :-1]) & both
    has = change.any(axis=1)
    first = np.where(has, np.argmax(change, axis=1) + 1, -1)
    direction = np.zeros(g, dtype=int)
    rows = np.flatnonzero(has)
    direction[rows] = np.where(D[rows, first[rows]] > D[rows, first[rows] - 1], 1, -1)
    baseline = D[:, 0].astype(float)
    control_last = np.where(first == -1, t - 1, first - 1)
    last = np.full(g, -1, dtype=int)
    values, inverse, counts = np.unique(baseline, return_inverse=True, return_counts=True)
    per_base = np.full(len(values), -1, dtype=int)
    np.maximum.at(per_base, inverse, control_last)
    last = per_base[inverse]
    # cohorts (D_g1, F_g, S_g); groups whose status quo is unique have no peer (footnote 15)
    key = (inverse * (t + 1) + (first + 1)) * 3 + (direction + 1)
    _, cohort = np.unique(key, return_inverse=True)
    cohort = np.where(counts[inverse] >= 2, cohort, -1)
    return SwitchMeta(baseline, first, direction, last, cohort)


@dataclass(frozen=True)
class HorizonFit:
    """One horizon (effect or placebo): estimate, group count and influence values."""

    estimate: float
    n_switchers: int
    influence: np.ndarray  # (G,) U_g, summing to n_switchers * estimate
    eligible: np.ndarray  # (G,) bool, switchers in this horizon


@dataclass(frozen=True)
class _Controls:
    """Outcome sums of the potential controls, cumulated over how long they stay controls.

    ``sums[b, w, t]`` adds ``Y[:, t]`` over the groups with status quo ``b`` that are still
    unswitched and observed at column ``w`` (``reach >= w``); ``counts[b, w]`` counts them.
    Every control mean is then a difference of two entries, and every control's influence a
    masked row product, so a horizon costs O(G T) instead of O(G T) per switch cell.
    """

    base: np.ndarray  # (G,) status-quo code
    reach: np.ndarray  # (G,) last column at which the group is an observed, unswitched control
    sums: np.ndarray  # (B, T, T)
    counts: np.ndarray  # (B, T)
    Y0: np.ndarray  # (G, T) outcome with unobserved cells set to 0


def _controls(Y: np.ndarray, observed: np.ndarray, meta: SwitchMeta) -> _Controls:
    g, t = Y.shape
    _, base = np.unique(meta.baseline, return_inverse=True)
    last_obs = t - 1 - np.argmax(observed[:, ::-1], axis=1)
    reach = np.minimum(np.where(meta.first_switch == -1, t - 1, meta.first_switch - 1), last_obs)
    Y0 = np.where(observed, Y, 0.0)
    nb = int(base.max()) + 1
    sums = np.zeros((nb * t, t))
    np.add.at(sums, base * t + reach, Y0)
    sums = sums.reshape(nb, t, t)[:, ::-1].cumsum(axis=1)[:, ::-1]
    counts = np.bincount(base * t + reach, minlength=nb * t).reshape(nb, t)[:, ::-1].cumsum(axis=1)[:, ::-1]
    return _Controls(base, reach, sums, counts, Y0)


def _horizon(ctl: _Controls, observed: np.ndarray, meta: SwitchMeta, lag: int, placebo: bool) -> HorizonFit:
    """Effect ``lag`` periods after the switch (or the placebo ``lag`` periods before it).

    Assumes every group is observed from the first column without gaps (the caller checks),
    so a control observed at the latest column it needs is observed at the earlier ones.
    """
    g, t = ctl.Y0.shape
    f, s = meta.first_switch, meta.direction
    ref = f - 1
    fwd = ref + lag
    tgt = ref - lag if placebo else fwd
    need = ref if placebo else fwd  # latest column the switcher itself must be observed in
    last_obs = t - 1 - np.argmax(observed[:, ::-1], axis=1)
    ok = (f > 0) & (tgt >= 0) & (fwd < t) & (meta.last_control >= fwd) & (last_obs >= need)
    rows = np.flatnonzero(ok)
    n_ctrl = ctl.counts[ctl.base[rows], fwd[rows]]
    rows = rows[n_ctrl > 0]  # no observed control: the switcher leaves this horizon
    ok = np.zeros(g, dtype=bool)
    ok[rows] = True
    U = np.zeros(g)
    n = len(rows)
    if n == 0:
        return HorizonFit(float("nan"), 0, U, ok)
    U[rows] = s[rows] * (ctl.Y0[rows, tgt[rows]] - ctl.Y0[rows, ref[rows]])
    # each control loses (sum of its switch cell's S_g) / (controls in the cell) times its own change
    coef = np.zeros((ctl.counts.shape[0], t))
    np.add.at(coef, (ctl.base[rows], fwd[rows]), s[rows].astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = np.where(ctl.counts > 0, coef / ctl.counts, 0.0)
    change = np.zeros((g, t))  # change[:, w]: the control's outcome change for switch cells ending at w
    if placebo:
        change[:, 2 * lag:] = ctl.Y0[:, : t - 2 * lag] - ctl.Y0[:, lag: t - lag]
    else:
        change[:, lag:] = ctl.Y0[:, lag:] - ctl.Y0[:, : t - lag]
    within = np.arange(t)[None, :] <= ctl.reach[:, None]
    U -= (coef[ctl.base] * within * change).sum(axis=1)
    return HorizonFit(float(U.sum() / n), n, U, ok)


def dynamic_effects(Y: np.ndarray, observed: np.ndarray, meta: SwitchMeta, n_effects: int,
                    n_placebos: int) -> tuple[list[HorizonFit], list[HorizonFit]]:
    """``DID_l`` for ``l = 1..n_effects`` and placebos ``DID^pl_l`` for ``l = 1..n_placebos``.

    ``observed`` must mark, for every group, a run of columns starting at the first one.
    """
    ctl = _controls(Y, observed, meta)
    effects = [_horizon(ctl, observed, meta, lag, placebo=False) for lag in range(1, n_effects + 1)]
    placebos = [_horizon(ctl, observed, meta, lag, placebo=True) for lag in range(1, n_placebos + 1)]
    return effects, placebos


def cohort_center(U: np.ndarray, cohort: np.ndarray) -> np.ndarray:
    """``U`` minus its cohort mean, on the variance sample (``cohort >= 0``); columns are horizons."""
    U = np.atleast_2d(U.T).T if U.ndim == 1 else U
    keep = cohort >= 0
    u, c = U[keep], cohort[keep]
    n_c = np.bincount(c)
    sums = np.zeros((len(n_c), u.shape[1]))
    np.add.at(sums, c, u)
    return u - (sums / np.maximum(n_c, 1)[:, None])[c]


def cohort_se(U: np.ndarray, n: int, cohort: np.ndarray) -> float:
    """Cohort-recentred plug-in standard error of ``sum(U) / n`` (NaN when not identified)."""
    if n <= 0:
        return float("nan")
    ss = float((cohort_center(U, cohort) ** 2).sum())
    return float(np.sqrt(ss) / n) if ss > 0 else float("nan")
