"""From a candidate driver to a planned experiment: an ``ExperimentSpec`` draft and ``design.plan``.

An accounting decomposition or an anomaly flag names *where* a metric moved; only an
experiment (or a credible causal graph) says *why*. :func:`suggest_experiment` drafts the
spec of a geo/segment experiment that would test the driver, runs the planner on the
metric's history and says whether an experiment of the planned size could detect a change
as large as the one observed, and after how many periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..design import DesignResult, plan
from ..errors import SpecError
from ..spec import ExperimentSpec
from ._errors import check_columns

__all__ = ["ExperimentSuggestion", "suggest_experiment"]


@dataclass(frozen=True)
class ExperimentSuggestion:
    """A drafted spec, its plan on history, and whether it could confirm the driver.

    ``target_lift`` is the relative change the experiment must detect (the observed movement),
    ``mde`` the planned design's minimum detectable lift at the recommended duration,
    ``duration`` the first planned duration whose MDE is at most ``target_lift`` (None when
    none is), ``confirmable`` whether there is one.
    """

    driver: str
    spec: ExperimentSpec
    design: DesignResult
    target_lift: float
    mde: float
    duration: int | None
    confirmable: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (the spec as a dict, the duration table as records)."""
        return {"driver": self.driver, "spec": self.spec.model_dump(mode="json"), "target_lift": self.target_lift,
                "mde": self.mde, "duration": self.duration, "confirmable": self.confirmable,
                "duration_table": self.design.duration_table.to_dict(orient="records")}


def suggest_experiment(history: pd.DataFrame, *, driver: str, unit: str, time: str, outcome: str,
                       target_lift: float, durations: tuple[int, ...] = (4, 8, 12), n_treated: int | None = None,
                       must_treat: tuple[Any, ...] = (), name: str | None = None, question: str | None = None,
                       seed: int = 0, **plan_overrides: Any) -> ExperimentSuggestion:
    """Draft a difference-in-differences experiment for a driver and plan it on history.

    Parameters
    ----------
    history : DataFrame
        Panel of ``unit`` x ``time`` with the (strictly positive) ``outcome``; not modified.
    driver : str
        The hypothesis in a few words (e.g. ``"rural route slowdown"``); names the spec.
    unit, time, outcome : str
        Columns of the panel (the units are what the experiment would randomise).
    target_lift : float
        Relative change the experiment must detect, e.g. the observed movement (0.02 = 2%).
    durations : tuple of int, default (4, 8, 12)
        Candidate test lengths, in periods.
    n_treated : int, optional
        Treated units (default: half).
    must_treat : tuple, optional
        Units that must be in the treated arm (e.g. the flagged segment).
    name, question : str, optional
        Spec name and plain-words question.
    seed : int, default 0
    **plan_overrides
        Passed to :func:`causal_kit.design.plan` (e.g. ``n_windows=8`` for a quick look).

    Returns
    -------
    ExperimentSuggestion

    Examples
    --------
    >>> from causal_kit.explain import simulate_kpi_history, suggest_experiment
    >>> h = simulate_kpi_history(60, stations=12, seed=0)
    >>> s = suggest_experiment(h, driver="late trucks at S3", unit="station", time="week",
    ...                        outcome="on_time_rate", target_lift=0.03, durations=(4, 8), n_windows=6,
    ...                        n_candidates=2, candidate_estimators=("did",), aa_target_mcse=None, progress=False)
    >>> s.spec.design, s.confirmable
    ('did', True)
    """
    check_columns(history, [unit, time, outcome], role="suggest_experiment")
    if not (isinstance(target_lift, (int, float)) and np.isfinite(target_lift) and target_lift > 0):
        raise SpecError(f"The 'target_lift' parameter of suggest_experiment must be a positive number (relative "
                        f"change, 0.02 = 2%). Got {target_lift!r} instead.")
    n_units = int(history[unit].nunique())
    treated = n_treated or max(1, n_units // 2)
    slug = "".join(ch if ch.isalnum() else "_" for ch in driver.lower()).strip("_") or "driver"
    spec = ExperimentSpec(
        name=name or f"confirm_{slug}"[:80], design="did", outcome=outcome, unit=unit, time=time,
        treatment="treated", seed=seed,
        question=question or f"Does {driver} move {outcome}? A randomised test across {unit} values.",
        plan={"n_treated": treated, "duration": list(durations), "expected_lift": float(target_lift),
              "must_treat": list(must_treat)})
    design = plan(history, spec, **plan_overrides)
    table = design.duration_table.sort_values("duration")
    ok = table.loc[table["mde"] <= target_lift, "duration"]
    duration = int(ok.iloc[0]) if len(ok) else None
    return ExperimentSuggestion(driver, spec, design, float(target_lift), float(design.mde), duration, duration is not None)
