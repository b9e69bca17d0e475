"""Multi-cell geo tests: several treatment cells (spend levels, creatives) against one control.

Each treatment cell is read out against the shared control cell with the same geo estimator
(``readout``: SDID by default), at the Bonferroni level ``alpha / k`` so the k cell intervals
hold together; p-values are Holm-adjusted. Cell-versus-cell contrasts use
``sqrt(se_a^2 + se_b^2)``, conservative because both cells share the control (their estimates
are positively correlated). The best cell (by iROAS when a ``spend`` column is given, by the
effect otherwise) is the headline, with the probability that it is best from independent
normal draws of the cell estimates (seeded). Writing this here: GeoLift's multi-cell readout
is R-only and no Python package reads several cells against one control.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._data import prepare, to_pandas
from .._typing import check_option
from ..errors import DataError, SpecError
from ..inference.basic import normal_ci
from ..result import Diagnostic, EffectEstimate, make_lineage

__all__ = ["MultiCell"]

Readout = Literal["sdid", "synthetic_control", "did", "bsts"]
Correction = Literal["holm", "bonferroni"]
_READOUT_DESIGN = {"sdid": "sdid", "synthetic_control": "synthetic_control", "did": "did", "bsts": "its"}


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (monotone, capped at 1).

    Examples
    --------
    >>> import numpy as np
    >>> holm(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p, dtype=float)
    k = p.size
    order = np.argsort(p)
    adj = np.maximum.accumulate((k - np.arange(k)) * p[order])
    out = np.empty(k)
    out[order] = np.minimum(adj, 1.0)
    return out


class MultiCell:
    """Read out a multi-cell geo test: each treatment cell against the shared control.

    Parameters
    ----------
    readout : {"sdid", "synthetic_control", "did", "bsts"}
        The geo estimator run for every cell (its default options plus ``readout_options``).
    control_cell : str
        The label of the control cell in ``spec.cell``.
    correction : {"holm", "bonferroni"}
        Adjustment of the cells' p-values; intervals are always Bonferroni (``alpha / k``)
        so that all cells' intervals hold together.
    readout_options : dict, optional
        Keyword arguments for the readout estimator.
    n_draws : int
        Normal draws for the probability that each cell is best.
    seed : int, optional
        Seed of those draws (default: the spec's seed).

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_multi_cell
    >>> spec = ck.ExperimentSpec(name="cells", design="multi_cell", outcome="kpi", unit="geo", time="date",
    ...                          treatment="treated", cell="cell", spend="spend", options={"readout": "did"})
    >>> res = ck.estimate(simulate_multi_cell(seed=1), spec)
    >>> res.tables["cells"]["cell"].tolist()
    ['high', 'low']
    """

    def __init__(self, *, readout: Readout = "sdid", control_cell: str = "control",
                 correction: Correction = "holm", readout_options: dict[str, Any] | None = None,
                 n_draws: int = 20_000, seed: int | None = None) -> None:
        self.readout = readout
        self.control_cell = control_cell
        self.correction = correction
        self.readout_options = readout_options
        self.n_draws = n_draws
        self.seed = seed

    def _check(self, spec: Any) -> None:
        check_option(self.readout, Readout, "readout", "MultiCell")
        check_option(self.correction, Correction, "correction", "MultiCell")
        if self.readout_options is not None and not isinstance(self.readout_options, dict):
            raise SpecError(f"The 'readout_options' parameter of MultiCell must be a dict or None. "
                            f"Got {self.readout_options!r} instead.")
        if isinstance(self.n_draws, bool) or not isinstance(self.n_draws, int) or self.n_draws < 100:
            raise SpecError(f"The 'n_draws' parameter of MultiCell must be an int >= 100. Got {self.n_draws!r} instead.")
        if spec.cell is None:
            raise SpecError("the multi_cell design needs spec.cell: the column naming each unit's test cell.")

    def _cells(self, df: pd.DataFrame, spec: Any) -> tuple[list[str], pd.Series]:
        per_unit = df.groupby(spec.unit, observed=True)[spec.cell].agg(["nunique", "first"])
        split = per_unit.index[per_unit["nunique"] > 1]
        if len(split):
            raise DataError(
                f"column {spec.cell!r} (spec.cell) gives {len(split)} unit(s) more than one cell (e.g. "
                f"{[str(u) for u in split[:3]]}): cells must not share geos. Give every unit one cell.")
        cell_of = per_unit["first"].astype(str)
        labels = sorted(set(cell_of))
        if self.control_cell not in labels:
            raise DataError(
                f"column {spec.cell!r} (spec.cell) has no unit in the control cell {self.control_cell!r}; its "
                f"labels are {labels}. Set options.control_cell to the control's label.")
        cells = [c for c in labels if c != self.control_cell]
        if len(cells) < 2:
            raise SpecError(
                f"the multi_cell design needs at least 2 treatment cells; column {spec.cell!r} has {len(cells)} "
                f"({cells}). Use design: {_READOUT_DESIGN[self.readout]} for a single cell.")
        treat = df.groupby(spec.unit, observed=True)[spec.treatment].max()
        leak = treat[(cell_of.reindex(treat.index) == self.control_cell) & (treat > 0)]
        if len(leak):
            raise DataError(
                f"{len(leak)} unit(s) of the control cell {self.control_cell!r} have {spec.treatment!r} = 1 (e.g. "
                f"{[str(u) for u in leak.index[:3]]}); control geos must stay untreated. Fix the cell or the "
                "treatment column.")
        return cells, cell_of

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Read out every cell; see the class docstring."""
        from . import get_estimator

        self._check(spec)
        seed = spec.seed if self.seed is None else self.seed
        prepared = prepare(data, spec)
        df = to_pandas(data)
        cells, cell_of = self._cells(prepared.frame, spec)
        k = len(cells)
        alpha_k = spec.alpha / k
        inner_spec = spec.update(design=_READOUT_DESIGN[self.readout], cell=None, options={}, alpha=alpha_k)
        fits = {}
        for c in cells:
            units = cell_of.index[cell_of.isin([c, self.control_cell])]
            sub = df[df[spec.unit].isin(units)].drop(columns=[spec.cell])
            fits[c] = get_estimator(self.readout, **(self.readout_options or {})).fit(sub, inner_spec)
        table = self._cell_table(fits, cells, cell_of, df, spec)
        best = str(table.loc[table["rank"] == 1, "cell"].iloc[0])
        r = fits[best]
        p_adj = float(table.loc[table["cell"] == best, "p_adjusted"].iloc[0])
        diagnostics = [Diagnostic(
            name="multiplicity", status="pass", assumption="inference",
            message=(f"{k} cells read out against one control: intervals at level {1 - alpha_k:.4g} each "
                     f"(Bonferroni, {1 - spec.alpha:.0%} together), p-values {self.correction}-adjusted."))]
        for c in cells:
            for d in fits[c].diagnostics:
                diagnostics.append(Diagnostic(name=f"{c}: {d.name}", status=d.status, statistic=d.statistic,
                                              p_value=d.p_value, threshold=d.threshold, message=d.message,
                                              assumption=d.assumption))
        details = {"cells": cells, "best_cell": best, "control_cell": self.control_cell, "readout": self.readout,
                   "prob_best": float(table.loc[table["cell"] == best, "prob_best"].iloc[0]),
                   "alpha_per_cell": alpha_k, "correction": self.correction, "ranked_by": self._ranked_by(table)}
        return EffectEstimate(
            method="multi_cell", design=spec.design, estimand=f"ATT of the best cell ({best})",
            estimate=r.estimate, se=r.se, ci=r.ci, p_value=p_adj, alpha=spec.alpha,
            n_obs=prepared.n_input - prepared.n_dropped, n_units=int(cell_of.size),
            n_dropped=prepared.n_dropped, dropped_reasons=prepared.dropped_reasons,
            diagnostics=tuple(diagnostics),
            tables={"cells": table, "contrasts": self._contrasts(table, spec.alpha)},
            lineage=make_lineage(spec, prepared.fingerprint, seed),
            inference=(f"each cell against the control cell with {self.readout} ({r.inference}); intervals at "
                       f"alpha/{k} = {alpha_k:.4g} (Bonferroni); p-value of the best cell {self.correction}-adjusted "
                       f"over {k} cells; probability best from {self.n_draws:,} independent normal draws"),
            outcome=spec.outcome, baseline=r.baseline, exposure=r.exposure, details=details,
            label="Multi-cell test",
        )

    def _ranked_by(self, table: pd.DataFrame) -> str:
        return "iroas" if table["iroas"].notna().all() else "effect"

    def _cell_table(self, fits: dict[str, EffectEstimate], cells: list[str], cell_of: pd.Series,
                    df: pd.DataFrame, spec: Any) -> pd.DataFrame:
        est = np.array([fits[c].estimate for c in cells])
        se = np.array([fits[c].se for c in cells])
        p = np.array([fits[c].p_value for c in cells])
        p_adj = holm(p) if self.correction == "holm" else np.minimum(p * len(cells), 1.0)
        incr = np.array([fits[c].estimate * (fits[c].exposure or np.nan) for c in cells])
        spend = np.full(len(cells), np.nan)
        if spec.spend is not None:
            post = df[spec.treatment] > 0
            for i, c in enumerate(cells):
                units = cell_of.index[cell_of == c]
                spend[i] = float(df.loc[post & df[spec.unit].isin(units), spec.spend].sum())
        iroas = np.where(spend > 0, incr / spend, np.nan)
        score = iroas if np.isfinite(iroas).all() else est
        score_se = se * (np.abs(iroas / est) if np.isfinite(iroas).all() else 1.0)
        rng = np.random.default_rng(spec.seed if self.seed is None else self.seed)
        draws = rng.normal(score, np.where(np.isfinite(score_se), score_se, 0.0), size=(self.n_draws, len(cells)))
        prob_best = np.bincount(draws.argmax(axis=1), minlength=len(cells)) / self.n_draws
        rank = pd.Series(-score).rank(method="first").astype(int).to_numpy()
        return pd.DataFrame({
            "cell": cells, "n_units": [int((cell_of == c).sum()) for c in cells], "estimate": est, "se": se,
            "ci_low": [fits[c].ci[0] for c in cells], "ci_high": [fits[c].ci[1] for c in cells],
            "p_value": p, "p_adjusted": p_adj, "incremental": incr, "spend": spend, "iroas": iroas,
            "prob_best": prob_best, "rank": rank,
        })

    def _contrasts(self, table: pd.DataFrame, alpha: float) -> pd.DataFrame:
        rows = []
        for (_, a), (_, b) in combinations(table.iterrows(), 2):
            diff = float(a["estimate"] - b["estimate"])
            se = math.hypot(float(a["se"]), float(b["se"]))
            ci, p = normal_ci(diff, se, alpha)
            rows.append({"cell_a": a["cell"], "cell_b": b["cell"], "difference": diff, "se": se,
                         "ci_low": ci[0], "ci_high": ci[1], "p_value": p})
        return pd.DataFrame(rows)
