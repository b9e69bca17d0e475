"""Turn a fixed-horizon A/B result into a sequential readout: look, boundary, interval, decision.

:func:`sequential_ab` takes the :class:`~causal_kit.result.EffectEstimate` of the A/B estimator
and the spec's ``sequential:`` block and returns a new result whose ``ci``, ``p_value`` and
``relative_ci`` are always valid (a confidence sequence, an mSPRT, or a Lan-DeMets repeated
confidence interval at this look's boundary), with

* ``details["sequential"]``: method, tuning, look number, planned looks, boundary, decision and
  the fixed-horizon numbers it replaced;
* ``tables["sequential"]``: one row per look (earlier looks from the registry, then this one);
* ``tables["comparisons"]``: per-arm always-valid intervals and p-values in ``ci_low``, ``ci_high``,
  ``p_value`` and ``relative_ci_*`` (the fixed-horizon values they replace in ``fixed_*``);
* diagnostics: the always-valid sample-ratio check and a ``sequential_look`` check that flags an
  unplanned extra look.

Look bookkeeping. A look is keyed by the data's end period (``max(spec.time)``) when the spec has
a time column, else by the number of units. Earlier looks come from the registry (the CLI passes
them as ``ABTest(prior_looks=...)``). A look whose key is not after the previous look's (unless it
is a re-run of that same look), a look on fewer units than the previous one, or a look after the
last planned look raise :class:`~causal_kit.errors.DataError`. A look between planned looks is
an unplanned extra look: confidence sequences and the mSPRT stay valid as they are; with alpha
spending it spends at its actual information fraction and counts as a look, so later boundaries
are computed with it (conservative), and the readout says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..result import Diagnostic, EffectEstimate
from .alpha_spending import spending_boundaries
from .msprt import msprt, msprt_proportions
from .sequential import always_valid_p_value, confidence_sequence, cs_rho
from .sequential_srm import sequential_srm_p_value

__all__ = ["sequential_ab", "DECISIONS", "look_order"]

#: Possible decisions, in the order a report explains them.
DECISIONS = ("continue", "stop_efficacy", "stop_futility", "final")


def look_order(value: Any) -> Any:
    """A sortable version of a look key (a number, a date or a date string).

    Examples
    --------
    >>> look_order("2024-01-08") > look_order("2024-01-01")
    True
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return pd.Timestamp(value)


def _key_text(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


class _Look:
    """Where this run sits among the planned and the earlier looks."""

    def __init__(self, cfg: Any, key: Any, n: int, prior: list[dict[str, Any]], time_column: str | None) -> None:
        self.key, self.n = key, n
        planned = [look_order(v) for v in cfg.looks]
        here = look_order(key)
        where = f"spec.time {time_column!r}" if time_column else "the number of units"
        kinds = {type(v) for v in planned + [here] + [look_order(q["key"]) for q in prior]}
        if len(kinds) > 1:
            raise SpecError(
                f"sequential looks are keyed by {where} (this look: {_key_text(key)!r}), but the planned or earlier "
                f"looks are of another kind ({[_key_text(v) for v in cfg.looks]}); give spec.sequential.looks as "
                + ("end periods of spec.time." if time_column else "cumulative unit counts.")
            )
        if planned and here > planned[-1]:
            raise DataError(
                f"this look ({where} = {_key_text(key)}) is after the last planned look "
                f"({_key_text(cfg.looks[-1])}, spec.sequential.looks); the study has ended. Add looks to the "
                "plan before the data are seen, or analyse it without 'sequential:'."
            )
        self.rerun = False
        if prior:
            last = prior[-1]
            last_key = look_order(last["key"])
            if int(last["n_obs"]) > n:
                raise DataError(
                    f"the data shrank: this look has {n} rows but look {last['look']} had {int(last['n_obs'])}; "
                    "a later look must contain every row of the earlier ones. Check the data extract."
                )
            if here == last_key and int(last["n_obs"]) == n:
                self.rerun = True  # the same look run again (e.g. a retried job): not a new look
                prior = prior[:-1]
            elif here <= last_key:
                raise DataError(
                    f"looks are not increasing: this look ({where} = {_key_text(key)}) is not after look "
                    f"{last['look']} ({_key_text(last['key'])}). Run each look on newer data."
                )
        self.prior = prior
        self.number = len(prior) + 1
        self.n_planned = len(planned) or None
        self.planned_index = planned.index(here) + 1 if here in planned else None
        self.unplanned = bool(planned) and self.planned_index is None
        self.earlier_planned = [v for v, o in zip(cfg.looks, planned) if o < here]
        if not prior and planned:
            # no registry history: trust the plan's numbering (earlier planned looks were taken)
            self.number = len(self.earlier_planned) + 1
        self.final = bool(planned) and here == planned[-1]


def _information_fractions(cfg: Any, look: _Look, n_by_look: list[int], time_keys: bool) -> list[float]:
    """Information fraction (units / planned units) of every look so far, the last one capped at 1."""
    if cfg.planned_n is not None:
        full = float(cfg.planned_n)
    elif not time_keys:
        full = float(look_order(cfg.looks[-1]))
    else:
        raise SpecError(
            "sequential.method 'alpha_spending' with looks given as periods needs 'planned_n' "
            "(the total units expected at the last look) to measure information."
        )
    fractions = [min(n / full, 1.0) for n in n_by_look]
    if look.final:
        fractions[-1] = 1.0  # the planned end spends whatever alpha is left
    for i in range(1, len(fractions)):  # a look with no new information adds nothing: nudge, keep order
        fractions[i] = max(fractions[i], fractions[i - 1] + 1e-9)
    if fractions[-1] > 1.0:
        fractions = [f / fractions[-1] for f in fractions]
    return fractions


def _arm_counts(result: EffectEstimate) -> pd.DataFrame:
    arms = result.tables["arms"]
    return arms.assign(arm=arms["arm"].astype(str))


def sequential_ab(
    result: EffectEstimate,
    spec: Any,
    frame: pd.DataFrame,
    *,
    expected_split: Mapping[Any, float] | None = None,
    prior_looks: Sequence[Mapping[str, Any]] | None = None,
) -> EffectEstimate:
    """The always-valid version of an A/B result at this look.

    Parameters
    ----------
    result : EffectEstimate
        The fixed-horizon A/B result (``method == "ab"``).
    spec : ExperimentSpec
        With a ``sequential:`` block.
    frame : DataFrame
        The prepared data of the readout (read for the look key and the 0/1 check only).
    expected_split : dict, optional
        Expected share of units per arm for the always-valid sample-ratio check.
    prior_looks : sequence of dict, optional
        Earlier looks of this study, oldest first, each with ``look``, ``key`` and ``n_obs``
        (``Registry.prior_looks`` gives them).

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat",
    ...                          pre_covariate="pre", sequential={"planned_n": 20_000})
    >>> res = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)
    >>> res.details["sequential"]["decision"], round(res.ci[0], 4)
    ('stop_efficacy', 0.0707)
    """
    cfg = spec.sequential
    if cfg is None:
        raise SpecError("sequential_ab needs a spec with a 'sequential:' block.")
    comp = result.tables["comparisons"].copy()
    arms = _arm_counts(result)
    n_by_arm = dict(zip(arms["arm"], arms["n"].astype(int)))
    control = str(result.details.get("control"))
    head = str(result.details.get("arm"))
    k_arms = len(arms)
    alpha = spec.alpha / (k_arms - 1)  # Bonferroni over the arms compared with the control
    time_keys = spec.time is not None
    if time_keys:
        if spec.time not in frame.columns:
            raise DataError(f"column {spec.time!r} (spec.time) is not in the data; it keys the sequential looks.")
        key = frame[spec.time].max()
        key = _key_text(key)
    else:
        key = int(result.n_obs)
    prior = [dict(p) for p in (prior_looks or [])]
    look = _Look(cfg, key, int(result.n_obs), prior, spec.time)

    n_pair = np.array([n_by_arm[a] + n_by_arm[control] for a in comp["arm"]], dtype=float)
    est, se = comp["estimate"].to_numpy(float), comp["se"].to_numpy(float)
    rel, rel_se = comp["relative_lift"].to_numpy(float), comp["relative_se"].to_numpy(float)
    boundary = None
    tuning: dict[str, Any] = {}
    if cfg.method == "confidence_sequence":
        if cfg.rho is None and cfg.planned_n is None and (time_keys or not cfg.looks):
            raise SpecError(
                "sequential.method 'confidence_sequence' needs its tuning: 'planned_n' (the total units at which "
                "the interval should be tightest) or 'rho'."
            )
        planned_n = cfg.planned_n if cfg.rho is None else None
        if cfg.rho is None and planned_n is None:
            planned_n = int(look_order(cfg.looks[-1]))
        rho = cfg.rho if cfg.rho is not None else cs_rho(planned_n, alpha)
        low, high = confidence_sequence(est, se, n_pair, alpha, rho=rho)
        rlow, rhigh = confidence_sequence(rel, rel_se, n_pair, alpha, rho=rho)
        p = always_valid_p_value(est, se, n_pair, rho=rho)
        tuning = {"rho": rho, "planned_n": planned_n}
        note = (f"always-valid confidence sequence (Waudby-Smith et al.), rho={rho:.6g}"
                + (f" (tightest at {planned_n} units)" if planned_n else "") + ", valid at any look")
    elif cfg.method == "msprt":
        tau = float(cfg.mixture_sd)
        if cfg.metric == "proportion":
            if spec.outcome is None:
                raise SpecError("sequential.metric 'proportion' needs spec.outcome (a 0/1 column), not a ratio metric.")
            y = frame[spec.outcome].to_numpy(dtype=float)
            bad = int((~np.isin(y, (0.0, 1.0))).sum())
            if bad:
                raise DataError(
                    f"column {spec.outcome!r} (spec.outcome) has {bad} value(s) other than 0/1; "
                    "sequential.metric 'proportion' needs a 0/1 outcome (or use metric: mean)."
                )
            mean_by_arm = dict(zip(arms["arm"], arms["mean"].astype(float)))
            x0, n0 = mean_by_arm[control] * n_by_arm[control], n_by_arm[control]
            x1 = np.array([mean_by_arm[a] * n_by_arm[a] for a in comp["arm"]])
            n1 = np.array([n_by_arm[a] for a in comp["arm"]], dtype=float)
            est, low, high, p = msprt_proportions(x1, n1, x0, n0, tau, alpha)
        else:
            low, high, p = msprt(est, se**2, tau, alpha)
        base = comp["baseline"].to_numpy(float)
        if base[0] != 0 and np.isfinite(base[0]):
            rlow, rhigh, _ = msprt(rel, rel_se**2, tau / abs(float(base[0])), alpha)  # tau on the relative scale
        else:  # no baseline: the relative lift is undefined
            rlow, rhigh = np.full(rel.shape, np.nan), np.full(rel.shape, np.nan)
        tuning = {"mixture_sd": tau, "metric": cfg.metric}
        note = f"mixture SPRT ({cfg.metric}s), normal mixture sd={tau:.6g}, valid at any look"
    elif cfg.method == "regression":
        est, se, low, high, p = _regression(frame, spec, comp["arm"].tolist(), control, alpha, cfg.prior_scale)
        comp["estimate"], comp["se"] = est, se  # the regression coefficient the interval is centred on
        base = comp["baseline"].to_numpy(float)
        # relative interval: the coefficient's interval over the control mean (its own noise ignored)
        rlow, rhigh = low / np.abs(base), high / np.abs(base)
        tuning = {"prior_scale": cfg.prior_scale}
        note = (f"anytime-valid regression t-test (Lindon et al.), prior scale {cfg.prior_scale:.6g}, "
                "valid at any look")
    else:
        assumed = False
        if look.prior:
            n_hist = [int(q["n_obs"]) for q in look.prior] + [look.n]
        elif not time_keys:
            n_hist = [int(look_order(v)) for v in look.earlier_planned] + [look.n]
        else:  # earlier planned looks taken, information unknown: assume equal steps up to this look
            m = len(look.earlier_planned)
            n_hist = [look.n * (j + 1) / (m + 1) for j in range(m)] + [look.n]
            assumed = m > 0
        fractions = _information_fractions(cfg, look, n_hist, time_keys)
        bounds = spending_boundaries(fractions, alpha, cfg.spending)
        boundary = float(bounds[-1])
        low, high = est - boundary * se, est + boundary * se
        rlow, rhigh = rel - boundary * rel_se, rel + boundary * rel_se
        from scipy.stats import norm

        # nominal p-value of this look, to be compared with the boundary's nominal level
        p = 2.0 * norm.sf(np.abs(est / se))
        tuning = {"spending": cfg.spending, "information_fraction": fractions[-1], "information_fractions": fractions,
                  "earlier_information_assumed": assumed,
                  "nominal_alpha": float(2.0 * norm.sf(boundary))}
        of = f" of {look.n_planned}" if look.n_planned else ""
        note = (f"group-sequential Lan-DeMets {cfg.spending.replace('_', '-')} spending, look {look.number}{of}, "
                f"boundary |z| >= {boundary:.4g}; interval is the repeated confidence interval")
    low, high, p = np.atleast_1d(low), np.atleast_1d(high), np.atleast_1d(p)
    rlow, rhigh = np.atleast_1d(rlow), np.atleast_1d(rhigh)
    # the comparisons table carries the always-valid numbers (plots and reports read it); the
    # fixed-horizon ones it replaces stay beside them as fixed_*
    for col in ("ci_low", "ci_high", "p_value", "relative_ci_low", "relative_ci_high", "p_holm"):
        comp[f"fixed_{col}"] = comp[col]
    comp["ci_low"], comp["ci_high"], comp["p_value"] = low, high, p
    comp["relative_ci_low"], comp["relative_ci_high"] = rlow, rhigh
    comp["p_holm"] = np.minimum(1.0, p * (k_arms - 1))  # Bonferroni, matching alpha / (arms - 1)
    i = int(np.flatnonzero(comp["arm"].astype(str).to_numpy() == head)[0])
    ci, rci, p_head = (float(low[i]), float(high[i])), (float(rlow[i]), float(rhigh[i])), float(p[i])
    decision = _decide(ci, cfg.futility_margin, look.final, boundary is not None, p_head, tuning)
    if k_arms > 2:
        note += f"; Bonferroni over {k_arms - 1} arms (alpha {alpha:.4g} each)"
    if look.unplanned:
        note += "; unplanned extra look"
    info = {
        "method": cfg.method, **tuning, "alpha": spec.alpha, "alpha_per_arm": alpha,
        "look": look.number, "look_key": _key_text(key), "n_looks_planned": look.n_planned,
        "planned_looks": [_key_text(v) for v in cfg.looks], "planned_look_index": look.planned_index,
        "unplanned_look": look.unplanned, "rerun_of_previous_look": look.rerun, "final_look": look.final,
        "boundary_z": boundary, "z": float(est[i] / se[i]), "decision": decision,
        # always-valid p-values stay valid as a running minimum over the looks
        "p_value_running_min": (None if boundary is not None else
                                float(np.nanmin([p_head] + [_float(q.get("p_value")) for q in look.prior]))),
        "futility_margin": cfg.futility_margin,
        "fixed_horizon_ci": list(result.ci), "fixed_horizon_p_value": result.p_value,
    }
    table = _look_table(look, info, float(est[i]), ci, p_head)
    diagnostics = _diagnostics(result, spec, look, n_by_arm, arms, expected_split, cfg.method)
    details = {**result.details, "sequential": info}
    return replace(
        result, estimate=float(est[i]), se=float(se[i]), ci=ci, p_value=p_head, relative_ci=rci, inference=f"{result.inference}; {note}",
        details=details, diagnostics=diagnostics,
        tables={**result.tables, "comparisons": comp, "sequential": table},
    )


def _regression(frame: pd.DataFrame, spec: Any, arms: list[str], control: str, alpha: float,
                phi: float) -> tuple[np.ndarray, ...]:
    """Per arm: the treatment coefficient of ``y ~ 1 + arm + centred covariates`` on arm + control rows."""
    from .anytime_regression import anytime_valid_coefficient

    if spec.outcome is None:
        raise SpecError("sequential.method 'regression' needs spec.outcome (not a ratio metric).")
    if spec.cluster is not None or spec.weights is not None:
        raise SpecError(
            "sequential.method 'regression' assumes independent, unweighted units; with spec.cluster or "
            "spec.weights use method 'confidence_sequence', which takes the readout's robust SE."
        )
    cols = list(dict.fromkeys(([spec.pre_covariate] if spec.pre_covariate else []) + list(spec.covariates)))
    y = frame[spec.outcome].to_numpy(dtype=float)
    label = frame[spec.treatment].astype(str).to_numpy()
    covs = frame[cols].to_numpy(dtype=float) if cols else np.empty((len(frame), 0))
    est, se, low, high, p = (np.empty(len(arms)) for _ in range(5))
    for i, arm in enumerate(arms):
        keep = (label == arm) | (label == control)
        X = np.column_stack([np.ones(int(keep.sum())), (label[keep] == arm).astype(float), covs[keep]])
        X[:, 2:] -= X[:, 2:].mean(axis=0)
        if np.linalg.matrix_rank(X) < X.shape[1]:
            raise DataError(f"the covariates {cols} are collinear with the arm indicator or each other; "
                            "drop redundant covariates.")
        est[i], se[i], low[i], high[i], p[i] = anytime_valid_coefficient(
            X.T @ X, X.T @ y[keep], y[keep] @ y[keep], X.shape[0], 1, alpha, phi=phi)
    return est, se, low, high, p


def _decide(ci: tuple[float, float], margin: float | None, final: bool, spending: bool, p: float,
            tuning: dict[str, Any]) -> str:
    if spending:
        excludes = p <= tuning["nominal_alpha"]
    else:
        excludes = ci[0] > 0 or ci[1] < 0
    if excludes:
        return "stop_efficacy"
    if margin is not None and -margin < ci[0] and ci[1] < margin:
        return "stop_futility"
    return "final" if final else "continue"


def _look_table(look: _Look, info: dict[str, Any], estimate: float, ci: tuple[float, float],
                p: float) -> pd.DataFrame:
    rows = []
    for q in look.prior:
        rows.append({
            "look": int(q["look"]), "look_key": str(q["key"]), "n_obs": int(q["n_obs"]),
            "estimate": _float(q.get("estimate")), "ci_low": _float(q.get("ci_low")),
            "ci_high": _float(q.get("ci_high")), "p_value": _float(q.get("p_value")),
            "boundary_z": _float(q.get("boundary_z")), "decision": str(q.get("decision") or ""),
            "current": False,
        })
    rows.append({
        "look": look.number, "look_key": str(info["look_key"]), "n_obs": look.n, "estimate": estimate,
        "ci_low": ci[0], "ci_high": ci[1], "p_value": p, "boundary_z": _float(info["boundary_z"]),
        "decision": info["decision"], "current": True,
    })
    return pd.DataFrame(rows)


def _float(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out if math.isfinite(out) else float("nan")


def _diagnostics(result: EffectEstimate, spec: Any, look: _Look, n_by_arm: dict[str, int], arms: pd.DataFrame,
                 expected_split: Mapping[Any, float] | None, method: str) -> tuple[Diagnostic, ...]:
    labels = list(arms["arm"])
    if expected_split is None:
        shares = np.full(len(labels), 1.0 / len(labels))
    else:
        by_text = {str(k): float(v) for k, v in expected_split.items()}
        shares = np.array([by_text[a] for a in labels])
    counts = np.array([n_by_arm[a] for a in labels], dtype=float)
    p_srm = sequential_srm_p_value(counts, shares)
    fixed = next((d for d in result.diagnostics if d.name == "sample_ratio_mismatch"), None)
    threshold = fixed.threshold if fixed is not None and fixed.threshold else 0.001
    split = ", ".join(f"{a}: {int(c)}" for a, c in zip(labels, counts))
    if p_srm < threshold:
        srm = Diagnostic("sample_ratio_mismatch", "fail",
                         f"Arm sizes ({split}) differ from the expected split (always-valid p={p_srm:.2g}, "
                         "valid at any look); check assignment and logging before trusting the result.",
                         None, float(p_srm), threshold, "randomization")
    else:
        srm = Diagnostic("sample_ratio_mismatch", "pass",
                         f"Arm sizes ({split}) match the expected split (always-valid p={p_srm:.2g}, "
                         "Dirichlet-multinomial test valid at any look).",
                         None, float(p_srm), threshold, "randomization")
    out = [srm if d.name == "sample_ratio_mismatch" else d for d in result.diagnostics]
    if look.unplanned:
        how = ("it is handled conservatively: counted as a look, spending alpha at its actual information, and "
               "later boundaries account for it." if method == "alpha_spending" else
               "the always-valid interval is unaffected (valid at any look); it is recorded as an extra look.")
        out.append(Diagnostic(
            "sequential_look", "warn",
            f"Look {look.number} (key {_key_text(look.key)}) is not one of the planned looks; {how}",
            assumption="inference"))
    elif look.n_planned:
        out.append(Diagnostic(
            "sequential_look", "pass",
            f"Look {look.number} of {look.n_planned} planned" + (" (the final look)." if look.final else "."),
            assumption="inference"))
    else:
        out.append(Diagnostic("sequential_look", "pass",
                              f"Look {look.number}; the interval is valid at any look, planned or not.",
                              assumption="inference"))
    return tuple(out)
