"""de Chaisemartin-D'Haultfoeuille DiD for treatments that switch on and off (``did_multiplegt``).

The estimator of ``did_multiplegt_dyn`` (de Chaisemartin & D'Haultfoeuille 2024) for a 0/1
treatment that may start (joiners) or stop (leavers): the effect ``l`` periods after a unit's
first switch, ``DID_l``, compares the switchers' outcome change since the period before the
switch with that of the units with the same status quo that have not switched yet (never
the already-treated), so no comparison uses a unit whose treatment changed. Placebos repeat
the comparison before the switch. ``DID_1`` generalises the ``DID_M`` of de Chaisemartin &
D'Haultfoeuille (2020). The headline is the average total effect per switch over the
horizons reported, ``sum_l N_l DID_l / sum_l N_l``. Standard errors are the authors'
cohort-recentred analytic plug-in (see :mod:`causal_kit.estimators._dcdh_core`), clustered by
unit or by ``spec.cluster``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._data import prepare
from .._typing import MultiSwitch, check_option
from ..errors import DataError, IdentificationError, RowsDroppedWarning, SpecError
from ..result import Diagnostic, EffectEstimate, make_lineage
from ._dcdh_core import cohort_center, dynamic_effects, switch_metadata
from ._did_common import fast_t_ci, sup_t_critical, wald_pretrend
from .did_imputation import _reference_row, _row, check_common, check_int_option

__all__ = ["SwitchingDiD"]


class SwitchingDiD:
    """de Chaisemartin-D'Haultfoeuille dynamic DiD for on/off treatments (R/Stata ``did_multiplegt_dyn``).

    Parameters
    ----------
    effects : int, optional
        Number of dynamic effects ``DID_1..DID_L`` (periods since the first switch). Default:
        every horizon at which at least half of the horizon-1 switchers still contribute (the
        authors' advice), at least 1.
    placebos : int, optional
        Number of placebos (periods before the switch). Default: as many as ``effects``, where
        the data allow.
    multi_switch : {"drop", "keep"}
        Units whose treatment changes more than once. ``drop`` (default, as ``diff-diff``)
        removes them with a warning and records them in ``n_dropped``; ``keep`` attributes the
        whole outcome path after the first switch to it (R ``did_multiplegt_dyn`` on 0/1 data).
    seed : int, optional
        Seed of the sup-t band draws; defaults to ``spec.seed``.
    alpha : float, optional
        Overrides ``spec.alpha``.

    Notes
    -----
    Needs the per-period 0/1 ``spec.treatment`` (not ``spec.cohort``) and every unit observed in
    the first period without interior gaps. Normal-distribution intervals, as the authors'
    packages. Covariates and weights are not supported yet (named errors say so).

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_switching_panel
    >>> df = simulate_switching_panel(seed=0)
    >>> spec = ck.ExperimentSpec(name="promo", design="staggered_did", outcome="y", unit="unit",
    ...                          time="period", treatment="promo", estimators=["did_multiplegt"])
    >>> res = SwitchingDiD(effects=3).fit(df, spec)
    >>> res.tables["event_study"]["kind"].tolist()
    ['lead', 'lead', 'lead', 'reference', 'post', 'post', 'post']
    """

    def __init__(self, *, effects: int | None = None, placebos: int | None = None,
                 multi_switch: MultiSwitch = "drop", seed: int | None = None, alpha: float | None = None) -> None:
        self.effects = effects
        self.placebos = placebos
        self.multi_switch = multi_switch
        self.seed = seed
        self.alpha = alpha

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the dynamic effects, placebos and the average total effect; see the class docstring."""
        owner = "SwitchingDiD"
        alpha, seed = check_common(self, owner, spec)
        check_int_option(self.effects, "effects", owner, 1)
        check_int_option(self.placebos, "placebos", owner, 0)
        check_option(self.multi_switch, MultiSwitch, "multi_switch", owner)
        _check_spec(spec)
        prepared = prepare(data, spec)
        units, times, Y, D, observed, clusters = _pivot(prepared.frame, spec)
        n_multi, n_dropped_rows = 0, 0
        changes = ((D[:, 1:] != D[:, :-1]) & observed[:, 1:] & observed[:, :-1]).sum(axis=1)
        multi = changes > 1
        if multi.any() and self.multi_switch == "drop":
            n_multi = int(multi.sum())
            warnings.warn(f"{n_multi} unit(s) in {spec.unit!r} switch treatment more than once (e.g. "
                          f"{units[multi][:3].tolist()}); dropped (multi_switch='drop'). Pass "
                          "multi_switch='keep' to attribute their whole path to the first switch.",
                          RowsDroppedWarning, stacklevel=2)
            keep = ~multi
            n_dropped_rows = int(observed[multi].sum())
            units, Y, D, observed = units[keep], Y[keep], D[keep], observed[keep]
            clusters = clusters[keep]
        meta = switch_metadata(D, observed)
        if not (meta.direction != 0).any():
            raise IdentificationError(
                f"no unit in {spec.unit!r} changes treatment ({spec.treatment!r}) during the panel; the "
                "switching estimator compares switchers with stayers. Check spec.treatment.")
        n_t = len(times)
        effects_all, _ = dynamic_effects(Y, observed, meta, self.effects or n_t - 1, 0)
        if effects_all[0].n_switchers == 0:
            raise IdentificationError(
                f"no switching unit has a control with the same treatment before its switch that has not "
                f"switched yet ({int((meta.direction != 0).sum())} switchers); add units that keep their "
                "treatment (stayers).")
        n_eff = self.effects or _default_effects([h.n_switchers for h in effects_all])
        effects = effects_all[:n_eff]
        n_pl = n_eff if self.placebos is None else self.placebos
        _, placebos = dynamic_effects(Y, observed, meta, 0, n_pl)
        placebos = [h for h in placebos if h.n_switchers > 0]
        effects_ok = [h for h in effects if h.n_switchers > 0]
        # joint covariance of every horizon from the cohort-centred influence values
        fits = effects_ok + placebos
        n_l = np.array([h.n_switchers for h in fits], dtype=float)
        U = np.column_stack([h.influence for h in fits])
        V = _vcov(U, n_l, meta.cohort, clusters)
        # headline: average total effect = sum_l U_l / sum_l N_l over the effects
        k = len(effects_ok)
        w = np.r_[np.ones(k) / n_l[:k].sum(), np.zeros(len(placebos))] * n_l
        est = float(w @ np.array([h.estimate for h in fits]))
        se = float(np.sqrt(max(w @ V @ w, 0.0)))
        if not se > 0:
            raise IdentificationError(
                "the standard error is not identified: every switcher is alone in its cohort (same "
                "status quo and switch period). Add units or coarsen the time grid.")
        ci, p = fast_t_ci(est, se, alpha, df=None)
        b = np.array([h.estimate for h in fits])
        s = np.sqrt(np.clip(np.diag(V), 0.0, None))
        crit = sup_t_critical(V, alpha, seed)
        rows = [_row(lag, b[j], s[j], alpha, crit, "post") | {"n_switchers": h.n_switchers}
                for j, (lag, h) in enumerate(zip(range(k), effects_ok))]
        rows += [_row(-1 - (j + 1), b[k + j], s[k + j], alpha, crit, "lead") | {"n_switchers": h.n_switchers}
                 for j, h in enumerate(placebos)]
        es = pd.DataFrame(rows + [_reference_row() | {"n_switchers": 0}])
        es = es.sort_values("event_time").reset_index(drop=True)
        pre = slice(k, k + len(placebos))
        diags = [wald_pretrend(b[pre], V[pre, pre], alpha, "placebos (switchers vs stayers before the switch)"),
                 _multi_switch_diag(n_multi, self.multi_switch, int(multi.sum())),
                 _coverage_diag([h.n_switchers for h in effects_ok])]
        twfe = _twfe(Y, D, observed)
        n_switchers = int((meta.direction != 0).sum())
        details: dict[str, Any] = {
            "n_switchers": n_switchers, "n_joiners": int((meta.direction == 1).sum()),
            "n_leavers": int((meta.direction == -1).sum()), "n_multi_switch_dropped": n_multi,
            "effects": k, "placebos": len(placebos), "horizon_weights": (n_l[:k] / n_l[:k].sum()).tolist(),
            "sup_t_critical": crit, "event_vcov": V.tolist(), "twfe_estimate": twfe,
            "switcher_periods": float(n_l[:k].sum()),
            "n_clusters": int(len(np.unique(clusters))),
        }
        dropped = dict(prepared.dropped_reasons)
        if n_multi:
            dropped["units switching more than once"] = n_dropped_rows
        cluster_col = spec.cluster or spec.unit
        return EffectEstimate(
            method="did_multiplegt", design=spec.design,
            estimand=f"average total effect per switch over {k} period(s) since the switch (switchers vs stayers)",
            estimate=est, se=se, ci=(float(ci[0]), float(ci[1])), p_value=float(p), alpha=alpha,
            n_obs=int(observed.sum()), n_units=len(units), n_dropped=prepared.n_dropped + n_dropped_rows,
            dropped_reasons=dropped, diagnostics=tuple(diags),
            tables={"event_study": es, "trends": _trends(Y, observed, meta, times)},
            lineage=make_lineage(spec, prepared.fingerprint, seed),
            inference=(f"cohort-recentred analytic plug-in SEs (de Chaisemartin-D'Haultfoeuille), clustered by "
                       f"{cluster_col!r} ({details['n_clusters']} clusters); normal CIs; sup-t bands (seed {seed}); "
                       "controls: units with the same status quo that have not switched yet"),
            # no exposure: a total would add joiners' gains to leavers' forgone effects
            outcome=spec.outcome or "", details=details,
            label="Switching-treatment DiD (de Chaisemartin-D'Haultfoeuille)",
        )


def _check_spec(spec: Any) -> None:
    if not spec.panel:
        raise SpecError("did_multiplegt needs a panel (the same units followed over periods), but spec.panel is "
                        "false (repeated cross-sections); set panel: true if the units are followed over time.")
    if spec.treatment is None or spec.unit is None or spec.time is None:
        raise SpecError("did_multiplegt needs spec.treatment (a 0/1 indicator per unit and period), spec.unit "
                        "and spec.time; a spec.cohort column cannot describe a treatment that switches off.")
    if spec.treatment_start is not None:
        raise SpecError(f"did_multiplegt reads spec.treatment={spec.treatment!r} as a per-period indicator; "
                        "remove spec.treatment_start.")
    if spec.covariates:
        raise SpecError(f"did_multiplegt does not support covariates yet (spec.covariates="
                        f"{list(spec.covariates)!r}); remove them.")
    if spec.weights is not None:
        raise SpecError(f"did_multiplegt does not support observation weights yet (spec.weights={spec.weights!r}); "
                        "remove spec.weights or aggregate the data to unweighted rows.")


def _pivot(frame: pd.DataFrame, spec: Any) -> tuple[np.ndarray, ...]:
    """Dense (unit x period) outcome, treatment, observed mask and a cluster code per unit."""
    unit, time = spec.unit, spec.time
    units, ui = np.unique(frame[unit].astype(str) if frame[unit].dtype == object else frame[unit],
                          return_inverse=True)
    times, ti = np.unique(frame[time].to_numpy(), return_inverse=True)
    n, t = len(units), len(times)
    if t < 2:
        raise IdentificationError(f"column {time!r} (spec.time) has a single period; a switch needs two.")
    observed = np.zeros((n, t), dtype=bool)
    observed[ui, ti] = True
    Y = np.full((n, t), np.nan)
    Y[ui, ti] = frame[spec.outcome].to_numpy(dtype=float)
    D = np.zeros((n, t))
    D[ui, ti] = frame[spec.treatment].to_numpy(dtype=float)
    late = ~observed[:, 0]
    if late.any():
        raise DataError(f"{int(late.sum())} unit(s) in {unit!r} (spec.unit) are not observed in the first period "
                        f"{times[0]!r} (e.g. {units[late][:3].tolist()}), so their status-quo treatment is unknown; "
                        "drop them or add their first-period rows.")
    last = t - 1 - np.argmax(observed[:, ::-1], axis=1)
    gaps = (~observed & (np.arange(t)[None, :] < last[:, None])).any(axis=1)
    if gaps.any():
        raise DataError(f"{int(gaps.sum())} unit(s) in {unit!r} (spec.unit) have gaps inside their observed periods "
                        f"(e.g. {units[gaps][:3].tolist()}), so a switch could fall in a gap; fill or drop them.")
    if spec.cluster is None or spec.cluster == unit:
        clusters = np.arange(n)
    else:
        codes, _ = pd.factorize(frame[spec.cluster], sort=True)
        lo = np.full(n, np.iinfo(np.int64).max)
        hi = np.full(n, -1)
        np.minimum.at(lo, ui, codes)
        np.maximum.at(hi, ui, codes)
        if (lo != hi).any():
            raise DataError(f"column {spec.cluster!r} (spec.cluster) changes within {int((lo != hi).sum())} unit(s); "
                            "clusters must contain whole units for did_multiplegt.")
        clusters = lo
    return units, times, Y, D, observed, clusters


def _vcov(U: np.ndarray, n_l: np.ndarray, cohort: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Covariance of the horizon estimates: cohort-centred influence values summed by cluster."""
    uc = cohort_center(U, cohort)
    keep = cohort >= 0
    _, code = np.unique(clusters[keep], return_inverse=True)
    sums = np.zeros((int(code.max()) + 1 if len(code) else 0, U.shape[1]))
    np.add.at(sums, code, uc)
    return (sums.T @ sums) / np.outer(n_l, n_l)


def _default_effects(n_switchers: list[int]) -> int:
    """Horizons while at least half the horizon-1 switchers contribute (at least one)."""
    n1 = n_switchers[0]
    k = 1
    while k < len(n_switchers) and n_switchers[k] >= 0.5 * n1:
        k += 1
    return k


def _multi_switch_diag(n_dropped: int, mode: str, n_multi: int) -> Diagnostic:
    if n_multi == 0:
        return Diagnostic("multi_switch", "pass", "Every unit changes treatment at most once, so each effect is "
                          "attributed to a single switch.", statistic=0.0, assumption="specification")
    if mode == "drop":
        return Diagnostic("multi_switch", "warn", f"{n_dropped} unit(s) switch more than once and were dropped; "
                          "the effects describe units that switch once.", statistic=float(n_dropped),
                          assumption="specification")
    return Diagnostic("multi_switch", "warn", f"{n_multi} unit(s) switch more than once; their effects include "
                      "later switches (multi_switch='keep').", statistic=float(n_multi), assumption="specification")


def _coverage_diag(n_switchers: list[int]) -> Diagnostic:
    n1, nl = n_switchers[0], n_switchers[-1]
    share = nl / n1
    ok = share >= 0.5
    return Diagnostic(
        "horizon_coverage", "pass" if ok else "warn",
        f"{nl} of the {n1} horizon-1 switchers contribute to the last effect reported ({share:.0%}); "
        + ("far horizons rest on most switchers." if ok else
           "far horizons rest on few switchers and a changing mix of them; report fewer effects."),
        statistic=share, threshold=0.5, assumption="other")


def _twfe(Y: np.ndarray, D: np.ndarray, observed: np.ndarray) -> float:
    """Two-way fixed-effects coefficient on the same units, for comparison (not used for inference)."""
    from ._did_common import absorb

    z = absorb(np.stack([np.where(observed, Y, 0.0), D], axis=2), observed)
    xx = float(z[:, 1] @ z[:, 1])
    return float(z[:, 1] @ z[:, 0] / xx) if xx > 0 else float("nan")


def _trends(Y: np.ndarray, observed: np.ndarray, meta: Any, times: np.ndarray) -> pd.DataFrame:
    """Mean outcome per period for stayers (by status quo), joiners and leavers."""
    label = np.where(meta.direction == 1, "joiners", np.where(meta.direction == -1, "leavers",
                     np.where(meta.baseline > 0, "never switched (treated)", "never switched (untreated)")))
    rows = []
    for name in ("never switched (untreated)", "never switched (treated)", "joiners", "leavers"):
        m = label == name
        if not m.any():
            continue
        cnt = observed[m].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(observed[m], Y[m], 0.0).sum(axis=0) / cnt
        rows.append(pd.DataFrame({"time": times, "group": name, "mean": mean, "n_units": cnt.astype(int)}))
    return pd.concat(rows, ignore_index=True)
