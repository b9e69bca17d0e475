"""Panel set-up, cohorts and business translation shared by SC, augmented SC and SDID."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._data import Prepared, prepare, to_pandas
from .._panel import Panel, build_panel
from ..errors import DataError, IdentificationError, SpecError

__all__ = ["SynthPanel", "load_synth_panel", "business_numbers", "effective_n", "check_int", "check_float"]


@dataclass(frozen=True)
class SynthPanel:
    """A balanced panel split into never-treated controls and adoption cohorts."""

    prepared: Prepared
    panel: Panel
    controls: np.ndarray  # row indices of never-treated units
    cohorts: tuple[tuple[int, np.ndarray], ...]  # (first treated period index, treated rows)

    @property
    def Y(self) -> np.ndarray:
        return self.panel.Y

    @property
    def times(self) -> np.ndarray:
        return self.panel.times

    @property
    def units(self) -> np.ndarray:
        return self.panel.units

    @property
    def exposure(self) -> float:
        """Treated unit-periods after adoption."""
        T = self.panel.n_periods
        return float(sum(len(rows) * (T - g) for g, rows in self.cohorts))


def load_synth_panel(data: Any, spec: Any, owner: str, columns: tuple[str, ...] = (),
                     min_controls: int = 2) -> SynthPanel:
    """Validate, copy and pivot the data; raise named errors for unusable panels."""
    if spec.unit is None or spec.time is None or spec.outcome is None:
        raise SpecError(f"{owner} needs spec.unit, spec.time and spec.outcome to build the panel.")
    if spec.treatment is None and spec.cohort is None:
        raise SpecError(f"{owner} needs spec.treatment (or spec.cohort) to know which units are treated.")
    prepared = prepare(data, spec, columns=list(columns))
    panel = build_panel(prepared.frame, spec, balanced=False)
    Y = panel.Y
    if np.isnan(Y).any():
        treated = panel.treated
        first = np.where(treated, panel.first_treated, panel.n_periods)
        pre_missing = np.isnan(Y) & (np.arange(panel.n_periods)[None, :] < first[:, None])
        bad_tr = treated & pre_missing.any(axis=1)
        if bad_tr.any():
            units = panel.units[bad_tr]
            raise DataError(
                f"column {spec.outcome!r} (spec.outcome) is missing for {int(pre_missing[bad_tr].sum())} "
                f"pre-period cell(s) of {len(units)} treated unit(s) (e.g. {units[:3].tolist()}); "
                f"{owner} needs every treated unit observed in every pre-period. Add those periods "
                "or drop the unit."
            )
        bad = np.isnan(Y).any(axis=1)
        raise DataError(
            f"column {spec.outcome!r} (spec.outcome) has {int(np.isnan(Y).sum())} missing unit-period "
            f"cells in {int(bad.sum())} unit(s) (e.g. {panel.units[bad][:3].tolist()}); {owner} needs a "
            "balanced panel. Fill the gaps or drop those units."
        )
    controls = np.flatnonzero(~panel.treated)
    if len(controls) < min_controls:
        raise IdentificationError(
            f"{owner} needs at least {min_controls} never-treated donor units; the data has "
            f"{len(controls)} (spec.unit={spec.unit!r}). Add donors or use another design."
        )
    cohorts = tuple(
        (int(g), np.flatnonzero(panel.first_treated == g))
        for g in np.unique(panel.first_treated[panel.treated])
    )
    return SynthPanel(prepared=prepared, panel=panel, controls=controls, cohorts=cohorts)


def raw_frame(data: Any, prepared: Prepared, columns: list[str]) -> pd.DataFrame:
    """Extra (non-role) columns for the prepared rows, copied from the caller's data."""
    df = to_pandas(data)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"predictor column {missing[0]!r} is not in the data.")
    return df.loc[prepared.frame.index, columns].copy()


def effective_n(w: np.ndarray) -> float:
    """Effective number of donors (inverse Herfindahl index) of a weight vector."""
    w = np.asarray(w, dtype=float)
    s = float((w * w).sum())
    return float(w.sum() ** 2 / s) if s > 0 else 0.0


def business_numbers(estimate: float, ci: tuple[float, float], baseline: float,
                     exposure: float) -> tuple[dict[str, float], pd.DataFrame]:
    """Cumulative incremental outcome and % lift with intervals, as details and a table."""
    lo, hi = ci
    lift = estimate / baseline if baseline and math.isfinite(baseline) else math.nan
    lift_lo = lo / baseline if baseline else math.nan
    lift_hi = hi / baseline if baseline else math.nan
    if lift_lo > lift_hi:
        lift_lo, lift_hi = lift_hi, lift_lo
    details = {
        "cumulative_effect": estimate * exposure,
        "cumulative_ci_low": lo * exposure,
        "cumulative_ci_high": hi * exposure,
        "lift_pct": 100 * lift,
        "lift_pct_ci_low": 100 * lift_lo,
        "lift_pct_ci_high": 100 * lift_hi,
        "counterfactual_mean": baseline,
        "treated_unit_periods": exposure,
    }
    table = pd.DataFrame(
        {
            "quantity": ["per unit-period effect", "cumulative incremental outcome", "lift (%)"],
            "estimate": [estimate, estimate * exposure, 100 * lift],
            "ci_low": [lo, lo * exposure, 100 * lift_lo],
            "ci_high": [hi, hi * exposure, 100 * lift_hi],
        }
    )
    return details, table


def check_int(value: Any, name: str, owner: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SpecError(f"The {name!r} parameter of {owner} must be an int >= {minimum}. Got {value!r} instead.")
    return int(value)


def check_float(value: Any, name: str, owner: str, minimum: float = 0.0, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) < minimum:
        raise SpecError(
            f"The {name!r} parameter of {owner} must be a finite float >= {minimum}"
            f"{' or None' if allow_none else ''}. Got {value!r} instead."
        )
    return float(value)
