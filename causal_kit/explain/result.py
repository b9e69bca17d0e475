"""``Decomposition``: the one result shape of the metric-movement tools.

A decomposition splits a change in a metric (``after - before``) into named components that
add up to it. It holds raw numbers only: the component table (value and, where estimated,
standard error and interval), named detail tables, notes (caveats an analyst must read) and
the seed. Formatting happens in ``causal_kit.report``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Decomposition"]

_COMPONENT_COLUMNS = ("component", "value", "se", "ci_low", "ci_high")


@dataclass(frozen=True)
class Decomposition:
    """A metric change split into components that add up to it.

    Attributes
    ----------
    method : str
        ``"mix_rate"``, ``"kpi_tree"``, ``"oaxaca_twofold"``, ``"oaxaca_threefold"`` or
        ``"graph_attribution"``.
    metric : str
        Name of the metric (shown in reports).
    before_label, after_label : str
        Labels of the two periods (or regions / groups) compared.
    before, after : float
        The metric in each period; ``change == after - before``.
    components : pandas.DataFrame
        One row per component: ``component``, ``value`` and, when estimated, ``se``,
        ``ci_low`` and ``ci_high`` (NaN otherwise). Values sum to ``change`` (see
        :meth:`residual`).
    tables : dict of str to DataFrame
        Detail tables, e.g. the per-segment contributions or the Shapley value table.
    notes : tuple of str
        Caveats and choices, in plain words.
    alpha : float
        Interval level is ``1 - alpha``.
    seed : int or None
        Seed of any random step (sampled Shapley, bootstrap).
    """

    method: str
    metric: str
    before_label: str
    after_label: str
    before: float
    after: float
    components: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    alpha: float = 0.05
    seed: int | None = None

    def __post_init__(self) -> None:
        comp = self.components.copy()
        for col in _COMPONENT_COLUMNS[2:]:
            if col not in comp.columns:
                comp[col] = np.nan
        object.__setattr__(self, "components", comp[list(_COMPONENT_COLUMNS)].reset_index(drop=True))

    @property
    def change(self) -> float:
        """``after - before``."""
        return float(self.after - self.before)

    def residual(self) -> float:
        """``change`` minus the sum of the components (zero up to rounding for exact methods)."""
        return float(self.change - self.components["value"].sum())

    def value(self, component: str) -> float:
        """The value of one named component."""
        hit = self.components.loc[self.components["component"] == component, "value"]
        if hit.empty:
            raise KeyError(f"no component {component!r}; have {list(self.components['component'])}")
        return float(hit.iloc[0])

    def plot(self, period: str = "") -> Any:
        """Waterfall chart (plotly figure) from ``before`` through the components to ``after``."""
        from .plot import waterfall_figure

        return waterfall_figure(self, period=period)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tables as records)."""
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            # full double precision (DataFrame.to_json would round to 10 digits); NaN -> None
            return json.loads(json.dumps(df.astype(object).where(df.notna(), None).to_dict(orient="records"),
                                         default=lambda v: v.item() if hasattr(v, "item") else str(v)))
        return {"method": self.method, "metric": self.metric, "before_label": self.before_label,
                "after_label": self.after_label, "before": self.before, "after": self.after,
                "change": self.change, "components": records(self.components),
                "tables": {k: records(v) for k, v in self.tables.items()}, "notes": list(self.notes),
                "alpha": self.alpha, "seed": self.seed}

    def __repr__(self) -> str:
        parts = ", ".join(f"{c}={v:.6g}" for c, v in zip(self.components["component"], self.components["value"]))
        return (f"Decomposition({self.method}, {self.metric}: {self.before:.6g} -> {self.after:.6g}, "
                f"change={self.change:.6g}; {parts})")
