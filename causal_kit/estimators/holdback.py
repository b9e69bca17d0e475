"""Inverse (holdback) geo tests: a campaign runs everywhere except a held-back set of geos.

``spec.treatment`` marks the held-back geos while the campaign is switched off there (1 in
their test periods, 0 elsewhere): what changed in them is the *absence* of the campaign. The
readout estimator (``readout``: SDID by default) estimates the effect of switching the
campaign off on those geos, ``E[Y(off) - Y(on) | held back]``; this estimator reports the
campaign's effect on them, ``E[Y(on) - Y(off) | held back]``, the same number with the sign
flipped, so a campaign that works reads as a positive effect. The interval is flipped with it
(``(-high, -low)``); the relative lift is taken against what the held-back geos did without
the campaign (their observed outcome during the test).
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd

from .._data import prepare, to_pandas
from .._typing import check_option
from ..errors import SpecError
from ..result import Diagnostic, EffectEstimate, make_lineage
from ._synth_common import business_numbers

__all__ = ["Holdback"]

Readout = Literal["sdid", "synthetic_control", "did", "bsts"]
_READOUT_DESIGN = {"sdid": "sdid", "synthetic_control": "synthetic_control", "did": "did", "bsts": "its"}
#: the readout's business numbers describe the switch-off; they are recomputed for the campaign
_BUSINESS_KEYS = {"cumulative_effect", "cumulative_ci_low", "cumulative_ci_high", "lift_pct", "lift_pct_ci_low",
                  "lift_pct_ci_high", "counterfactual_mean", "treated_unit_periods"}


class Holdback:
    """Read out a holdback test as the campaign's effect on the held-back geos.

    Parameters
    ----------
    readout : {"sdid", "synthetic_control", "did", "bsts"}
        The geo estimator that reads the switch-off (its default options plus ``readout_options``).
    readout_options : dict, optional
        Keyword arguments for the readout estimator.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_geo_panel
    >>> df = simulate_geo_panel(n_geos=30, n_days=120, treated=8, effect=-0.05, seed=2)
    >>> spec = ck.ExperimentSpec(name="holdback", design="holdback", outcome="kpi", unit="geo", time="date",
    ...                          treatment="treated", options={"readout": "did"})
    >>> res = ck.estimate(df, spec)
    >>> res.estimate > 0  # switching the campaign off cost 5%: the campaign's effect is positive
    True
    """

    def __init__(self, *, readout: Readout = "sdid", readout_options: dict[str, Any] | None = None) -> None:
        self.readout = readout
        self.readout_options = readout_options

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the campaign's effect on the held-back geos; see the class docstring."""
        from . import get_estimator

        check_option(self.readout, Readout, "readout", "Holdback")
        if self.readout_options is not None and not isinstance(self.readout_options, dict):
            raise SpecError(f"The 'readout_options' parameter of Holdback must be a dict or None. "
                            f"Got {self.readout_options!r} instead.")
        prepared = prepare(data, spec)
        inner_spec = spec.update(design=_READOUT_DESIGN[self.readout], options={})
        off = get_estimator(self.readout, **(self.readout_options or {})).fit(to_pandas(data), inner_spec)
        estimate = -off.estimate
        ci = (-off.ci[1], -off.ci[0])
        # without the campaign the held-back geos did what was observed: that is the baseline
        baseline = None if off.baseline is None else off.baseline + off.estimate
        diagnostics = [Diagnostic(
            name="holdback_sign", status="pass", assumption="specification",
            message=(f"Holdback test: {spec.treatment!r} = 1 marks the held-back geos while the campaign is off; "
                     f"{self.readout} estimated the switch-off at {off.estimate:+.4g}, reported here with the sign "
                     "flipped as the campaign's effect on those geos."))]
        diagnostics += list(off.diagnostics)
        details, business = business_numbers(estimate, ci, baseline, off.exposure) if baseline is not None \
            else ({}, None)
        inner = {k: v for k, v in (off.details or {}).items()
                 if isinstance(v, (int, float, str, bool)) and k not in _BUSINESS_KEYS}
        table = pd.DataFrame({
            "quantity": ["effect of switching the campaign off", "effect of the campaign (reported)"],
            "estimate": [off.estimate, estimate], "ci_low": [off.ci[0], ci[0]], "ci_high": [off.ci[1], ci[1]],
        })
        return EffectEstimate(
            method="holdback", design=spec.design, estimand="ATT of the campaign on the held-back geos",
            estimate=estimate, se=off.se, ci=ci, p_value=off.p_value, alpha=spec.alpha,
            n_obs=off.n_obs, n_units=off.n_units, n_dropped=prepared.n_dropped,
            dropped_reasons=prepared.dropped_reasons, diagnostics=tuple(diagnostics),
            tables={"holdback": table, **({"business": business} if business is not None else {})}, lineage=make_lineage(spec, prepared.fingerprint, spec.seed),
            inference=f"{self.readout} on the switch-off, sign flipped ({off.inference})",
            outcome=spec.outcome, baseline=baseline, exposure=off.exposure,
            details={**inner, **details, "readout": self.readout, "switch_off_estimate": off.estimate},
            label="Holdback test",
        )
