"""Group-sequential readouts of panel designs (DiD, synthetic control, SDID) at planned looks.

A geo test read out every week compares the readout's z-statistic (estimate / SE, with the
method's own inference) with the boundary of this look, and stops for efficacy when it is crossed.
The boundaries are either Lan-DeMets alpha spending (``sequential.method: alpha_spending``) with
information taken proportional to the post periods seen, or the boundaries calibrated on history
by :func:`causal_kit.design.sequential.plan_looks` (``sequential.method: calibrated`` with
``sequential.boundaries``, one per planned look). Looks are keyed by the data's end period
(``max(spec.time)``) and checked exactly as for A/B readouts (not increasing, data that shrank, a
look after the planned end: :class:`~causal_kit.errors.DataError`).

The result's ``ci`` becomes the repeated confidence interval ``estimate +/- boundary * se`` and
``p_value`` the nominal p-value of this look; the fixed-horizon numbers stay in
``details["sequential"]``. Alpha spending assumes the z-statistics across looks behave like
Brownian motion; placebo-based SC/SDID z-statistics need not, which is why the calibrated
boundary exists (its family-wise error is measured on history at design time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from ..errors import DataError, SpecError
from ..result import Diagnostic, EffectEstimate
from .alpha_spending import spending_boundaries
from .sequential_readout import _key_text, _Look, _look_table, look_order

__all__ = ["sequential_panel", "PANEL_SEQUENTIAL_METHODS"]

#: Panel methods whose readout can be group-sequential.
PANEL_SEQUENTIAL_METHODS = ("did", "synthetic_control", "sdid")


def _post_start(frame: pd.DataFrame, spec: Any) -> Any:
    if spec.treatment_start is not None:
        return spec.treatment_start
    if spec.treatment is None:
        raise SpecError("a sequential panel readout needs spec.treatment or spec.treatment_start to find the test start.")
    treated = frame.loc[frame[spec.treatment] == 1, spec.time].unique()
    if len(treated) == 0:
        raise DataError(f"column {spec.treatment!r} (spec.treatment) has no treated rows; the test has not started.")
    return min(treated, key=look_order)


def _fraction(start: Any, key: Any, end: Any, step: Any) -> float:
    """Share of the planned post periods seen: (key - start + step) / (end - start + step)."""
    num = look_order(key) - look_order(start)
    den = look_order(end) - look_order(start)
    if isinstance(num, pd.Timedelta):
        num, den = num / pd.Timedelta(1, "D"), den / pd.Timedelta(1, "D")
    return float((num + step) / (den + step))


def sequential_panel(result: EffectEstimate, spec: Any, frame: Any, *,
                     prior_looks: Sequence[Mapping[str, Any]] | None = None) -> EffectEstimate:
    """The group-sequential version of a DiD / SC / SDID result at this look.

    Parameters
    ----------
    result : EffectEstimate
        The fixed-horizon readout.
    spec : ExperimentSpec
        With a ``sequential:`` block (``alpha_spending`` or ``calibrated``) and planned ``looks``
        given as end periods of ``spec.time``.
    frame : DataFrame
        The readout data (read for the end period and the test start).
    prior_looks : sequence of dict, optional
        Earlier looks of the study (``Registry.prior_looks``).

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_geo_panel
    >>> df = simulate_geo_panel(n_geos=20, n_days=120, treated=5, test_start="2024-04-01", effect=0.1)
    >>> spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date",
    ...     treatment="treated", sequential={"method": "alpha_spending",
    ...     "looks": ["2024-04-14", "2024-04-21", "2024-04-29"]})
    >>> res = ck.estimate(df, spec)
    >>> res.details["sequential"]["look"], res.details["sequential"]["final_look"]
    (3, True)
    """
    from scipy.stats import norm

    cfg = spec.sequential
    if cfg.method not in ("alpha_spending", "calibrated"):
        raise SpecError(
            f"sequential.method {cfg.method!r} is for A/B tests; a {result.method} readout takes "
            "'alpha_spending' or 'calibrated' (with the boundaries from causal_kit.design.sequential)."
        )
    if spec.time is None or spec.time not in frame.columns:
        raise SpecError("a sequential panel readout needs spec.time: its looks are keyed by the data's end period.")
    if not cfg.looks:
        raise SpecError("a sequential panel readout needs the planned looks (sequential.looks, end periods).")
    raw = frame[spec.time].unique()
    order = [look_order(v) for v in raw]  # dates given as text (CSV) compare as dates
    key = _key_text(raw[max(range(len(raw)), key=order.__getitem__)])
    look = _Look(cfg, key, int(result.n_obs), [dict(p) for p in (prior_looks or [])], spec.time)
    start = _post_start(frame, spec)
    ordered = sorted(order)
    diffs = [b - a for a, b in zip(ordered, ordered[1:])]
    step = sorted(diffs)[len(diffs) // 2] if diffs else 1.0  # the usual period length
    step = step / pd.Timedelta(1, "D") if isinstance(step, pd.Timedelta) else float(step)
    if cfg.method == "calibrated":
        if look.unplanned or look.planned_index is None:
            raise DataError(
                f"this look ({spec.time} = {key}) is not one of the planned looks; a calibrated boundary exists only "
                "at the planned looks. Read out at a planned look, or use method 'alpha_spending'."
            )
        boundary = float(cfg.boundaries[look.planned_index - 1])
        fractions = None
    else:
        keys = [q["key"] for q in look.prior] if look.prior else list(look.earlier_planned)
        fractions = [_fraction(start, k, cfg.looks[-1], step) for k in keys + [key]]
        if look.final:
            fractions[-1] = 1.0
        for j in range(1, len(fractions)):
            fractions[j] = max(fractions[j], fractions[j - 1] + 1e-9)
        if fractions[0] <= 0:
            raise DataError(f"this look ({spec.time} = {key}) is before the test start ({_key_text(start)}).")
        boundary = float(spending_boundaries(fractions, spec.alpha, cfg.spending)[-1])
    est, se = float(result.estimate), float(result.se)
    z = est / se if se > 0 else float("nan")
    p_nominal = float(2 * norm.sf(abs(z)))
    ci = (est - boundary * se, est + boundary * se)
    if abs(z) >= boundary:
        decision = "stop_efficacy"
    elif cfg.futility_margin is not None and -cfg.futility_margin < ci[0] and ci[1] < cfg.futility_margin:
        decision = "stop_futility"
    else:
        decision = "final" if look.final else "continue"
    info = {
        "method": cfg.method, "spending": cfg.spending if fractions is not None else None,
        "information_fractions": fractions, "look": look.number, "look_key": key,
        "n_looks_planned": look.n_planned, "planned_looks": [_key_text(v) for v in cfg.looks],
        "planned_look_index": look.planned_index, "unplanned_look": look.unplanned,
        "rerun_of_previous_look": look.rerun, "final_look": look.final, "boundary_z": boundary, "z": z,
        "nominal_alpha": float(2 * norm.sf(boundary)), "decision": decision, "futility_margin": cfg.futility_margin,
        "alpha": spec.alpha, "fixed_horizon_ci": list(result.ci), "fixed_horizon_p_value": result.p_value,
    }
    table = _look_table(look, info, est, ci, p_nominal)
    of = f" of {look.n_planned}" if look.n_planned else ""
    kind = ("calibrated on history" if cfg.method == "calibrated"
            else f"Lan-DeMets {cfg.spending.replace('_', '-')} spending")
    note = (f"{result.inference}; group-sequential ({kind}), look {look.number}{of}, boundary |z| >= "
            f"{boundary:.4g}; interval is the repeated confidence interval")
    diag = (Diagnostic("sequential_look", "warn",
                       f"Look {look.number} ({spec.time} = {key}) is not one of the planned looks; it is handled "
                       "conservatively: counted as a look, spending alpha at its actual information.",
                       assumption="inference")
            if look.unplanned else
            Diagnostic("sequential_look", "pass",
                       f"Look {look.number}{of} planned" + (" (the final look)." if look.final else "."),
                       assumption="inference"))
    rel = result.relative_ci
    if rel is not None and result.baseline:
        rel = (ci[0] / abs(result.baseline), ci[1] / abs(result.baseline))
    return replace(result, ci=ci, p_value=p_nominal, relative_ci=rel, inference=note,
                   details={**result.details, "sequential": info}, diagnostics=(*result.diagnostics, diag),
                   tables={**result.tables, "sequential": table})

