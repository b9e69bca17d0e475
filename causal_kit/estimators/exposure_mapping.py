"""Exposure-mapping estimator for randomised experiments with interference (Aronow and Samii 2017).

Each unit's exposure is its own treatment and whether any neighbour (within the last band of
``spec.spillover.bands_km`` of ``spec.coordinates``, or ``spec.neighbors``) is treated: treated,
exposed control, unexposed control. The assignment is re-drawn ``n_draws`` times under the known
design (complete randomisation of the observed number of treated units, or Bernoulli), giving
each unit's probability of each exposure and each pair's joint probability. The direct effect is
mean Y(treated) - mean Y(unexposed control); the spillover effect mean Y(exposed control) - mean
Y(unexposed control), both over the units that can reach every condition, estimated with Hajek
(default) or Horvitz-Thompson weights and the Aronow-Samii conservative variance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._data import prepare
from .._typing import ExposureWeighting, check_fraction, check_option, check_positive_int
from ..errors import DataError, IdentificationError, SpecError
from ..result import Diagnostic, EffectEstimate, make_lineage
from ._did_common import fast_t_ci as t_ci

__all__ = ["ExposureMapping"]


class ExposureMapping:
    """Aronow-Samii exposure-mapping estimator (one row per unit, randomised treatment).

    Parameters
    ----------
    weighting : {"hajek", "horvitz_thompson"}
        Hajek (ratio; smaller variance, slight bias) or Horvitz-Thompson (unbiased) weights.
    design : {"complete", "bernoulli"}
        How treatment was randomised: the observed number of treated units drawn at random
        (default), or each unit independently with the observed share.
    n_draws : int
        Re-draws of the assignment for the exposure probabilities (default 10,000).
    seed : int, optional
        Seed of the re-draws; defaults to ``spec.seed``.
    alpha : float, optional
        Overrides ``spec.alpha``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> data = ck.datasets.load("spillover_sim").query("period == 8")
    >>> spec = ck.ExperimentSpec(name="as", design="spillover", outcome="y", unit="geo", treatment="treated",
    ...     coordinates=["lat", "lon"], spillover={"bands_km": [15]})
    >>> res = ExposureMapping(n_draws=2000).fit(data, spec)
    >>> res.tables["effects"]["term"].tolist()
    ['direct', 'spillover']

    With ``spec.time`` the outcome of each unit is its mean post-period minus mean pre-period
    value (one adoption date), which removes fixed unit differences and shrinks the variance.
    """

    def __init__(self, *, weighting: str = "hajek", design: str = "complete", n_draws: int = 10_000,
                 seed: int | None = None, alpha: float | None = None) -> None:
        self.weighting = weighting
        self.design = design
        self.n_draws = n_draws
        self.seed = seed
        self.alpha = alpha

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the direct and spillover effects; see the class docstring."""
        from ..inference.exposure import pairs_within_km, read_neighbors, unit_coordinates
        from ..inference.exposure_ht import (
            CONDITIONS,
            condition_of,
            exposure_probabilities,
            ht_contrast,
        )

        check_option(self.weighting, ExposureWeighting, "weighting", "ExposureMapping")
        if self.design not in ("complete", "bernoulli"):
            raise SpecError(f"The 'design' parameter of ExposureMapping must be one of 'complete', 'bernoulli'. "
                            f"Got {self.design!r} instead.")
        check_positive_int(self.n_draws, "n_draws", "ExposureMapping", 200)
        if self.alpha is not None:
            check_fraction(self.alpha, "alpha", "ExposureMapping")
        alpha = spec.alpha if self.alpha is None else float(self.alpha)
        seed = spec.seed if self.seed is None else int(self.seed)
        prepared = prepare(data, spec)
        frame = prepared.frame
        if spec.time is not None:
            frame = _changes(frame, spec)
        if frame[spec.unit].duplicated().any():
            n_dup = int(frame[spec.unit].duplicated().sum())
            raise DataError(
                f"column {spec.unit!r} (spec.unit) repeats {n_dup} unit(s): the exposure-mapping estimator takes one "
                "row per unit (the post-period outcome). Aggregate the panel first, or use the 'spillover' ring DiD.")
        frame = frame.sort_values(spec.unit)
        units = frame[spec.unit].to_numpy()
        z = frame[spec.treatment].to_numpy().astype(bool)
        y = frame[spec.outcome].to_numpy(dtype=float)
        cfg = spec.spillover
        if spec.coordinates is not None:
            lat, lon = unit_coordinates(frame, spec.unit, spec.coordinates, units)
            radius = (cfg.bands_km if cfg else (25.0,))[-1]
            A = pairs_within_km(lat, lon, radius)
            reach = f"within {radius:g} km"
        else:
            A = read_neighbors(spec.neighbors, units)
            hops = cfg.hops if cfg else 1
            reach = f"within {hops} hop(s)"
            if hops > 1:
                from scipy import sparse

                R = A.copy()
                for _ in range(hops - 1):
                    R = ((R + R @ A) > 0).astype(float)
                R.setdiag(0)
                A = sparse.csr_matrix(R)
        n, n1 = len(units), int(z.sum())
        if n1 == 0 or n1 == n:
            raise IdentificationError(f"{n1} of {n} units are treated: the exposure contrasts need treated and "
                                      "untreated units.")
        probs = exposure_probabilities(A, n1, design=self.design, p=n1 / n, n_draws=int(self.n_draws), seed=seed)
        cond = condition_of(z, A)
        keep = (probs.pi > 0).all(axis=0)
        n_keep = int(keep.sum())
        counts = {c: int((cond[keep] == k).sum()) for k, c in enumerate(CONDITIONS)}
        if n_keep < 4 or min(counts.values()) < 2:
            raise IdentificationError(
                f"too few units in some exposure condition ({counts}) among the {n_keep} units that can reach all "
                "three; widen or narrow the neighbourhood, or randomise more units.")
        rows = []
        for term, k in (("direct", 0), ("spillover", 1)):
            est, se = ht_contrast(y, cond, probs, k, 2, keep, self.weighting)
            ci, p = t_ci(est, se, alpha, None)
            rows.append({"term": term, "estimate": est, "se": se, "ci_low": ci[0], "ci_high": ci[1], "p_value": p,
                         "n_units": counts[CONDITIONS[k]]})
        effects = pd.DataFrame(rows)
        head = rows[0]
        never = n - n_keep
        diags = [
            Diagnostic("positivity", "pass" if never == 0 else "warn",
                       "Every unit can reach all three exposure conditions under the design." if never == 0 else
                       f"{never} of {n} units can never reach some exposure condition (e.g. no neighbour {reach}); "
                       "they are left out of the estimand.", statistic=float(never), assumption="overlap"),
            Diagnostic("spillover", "warn" if rows[1]["p_value"] < alpha else "pass",
                       f"Untreated units with a treated neighbour {reach} differ from those without by "
                       f"{rows[1]['estimate']:.3g} (p = {rows[1]['p_value']:.3g}).",
                       statistic=rows[1]["estimate"], p_value=rows[1]["p_value"], threshold=alpha,
                       assumption="interference"),
        ]
        weights = "Hajek" if self.weighting == "hajek" else "Horvitz-Thompson"
        probs_table = pd.DataFrame({"unit": units, "condition": np.array(CONDITIONS)[cond], "pi_treated": probs.pi[0],
                                    "pi_exposed_control": probs.pi[1], "pi_unexposed_control": probs.pi[2],
                                    "in_estimand": keep})
        return EffectEstimate(
            method="exposure_mapping", design=spec.design, estimand="ATE (direct effect, no treated neighbour)",
            estimate=head["estimate"], se=head["se"], ci=(head["ci_low"], head["ci_high"]), p_value=head["p_value"],
            alpha=alpha, n_obs=n, n_units=n_keep, n_dropped=prepared.n_dropped,
            dropped_reasons=prepared.dropped_reasons, diagnostics=tuple(diags),
            tables={"effects": effects, "exposure": probs_table},
            lineage=make_lineage(spec, prepared.fingerprint, seed),
            inference=(f"{weights} estimator with the Aronow-Samii conservative variance (Young's bound for pairs "
                       f"never observed together); exposure probabilities from {int(self.n_draws)} re-draws of the "
                       f"{self.design} randomisation (seed {seed}); normal CI"),
            outcome=spec.outcome or "", baseline=float(np.mean(y[keep & (cond == 2)])),
            details={"weighting": self.weighting, "design": self.design, "n_draws": int(self.n_draws),
                     "conditions": counts, "n_outside_estimand": never},
            label=f"Exposure mapping ({weights})",
        )


def _changes(frame: pd.DataFrame, spec: Any) -> pd.DataFrame:
    """One row per unit: mean post minus mean pre outcome, the ever-treated flag and the coordinates."""
    treated_rows = frame[frame[spec.treatment].astype(float) > 0]
    if treated_rows.empty:
        raise IdentificationError(f"column {spec.treatment!r} (spec.treatment) is never 1: no unit is treated.")
    starts = treated_rows.groupby(spec.unit)[spec.time].min()
    if starts.nunique() > 1:
        raise IdentificationError(
            f"treated units start in {starts.nunique()} different periods of {spec.time!r}; the exposure-mapping "
            "estimator needs one adoption date. Use the 'spillover' ring DiD for staggered starts.")
    start = starts.iloc[0]
    post = frame[spec.time] >= start
    if not (~post).any():
        raise IdentificationError(f"no period of {spec.time!r} precedes the start {start!r}: no pre-period.")
    by = frame.assign(_post=post).groupby([spec.unit, "_post"])[spec.outcome].mean().unstack("_post")
    change = by[True] - by[False]
    if change.isna().any():
        bad = change.index[change.isna()][:5].tolist()
        raise DataError(f"{int(change.isna().sum())} unit(s) of {spec.unit!r} lack pre- or post-period rows "
                        f"(e.g. {bad}); the change per unit needs both.")
    ever = frame.groupby(spec.unit)[spec.treatment].max()
    out = pd.DataFrame({spec.unit: change.index, spec.outcome: change.to_numpy(),
                        spec.treatment: ever.reindex(change.index).to_numpy()})
    for col in spec.coordinates or ():
        out[col] = frame.groupby(spec.unit)[col].first().reindex(change.index).to_numpy()
    return out
