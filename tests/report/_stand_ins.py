"""Stand-ins for objects other modules build, with their documented shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from causal_kit import Diagnostic, ExperimentSpec


@dataclass(frozen=True)
class StandInDesign:
    """The documented shape of DesignResult, for testing the design template on its own."""

    spec: Any
    method: str = "geo_matched_pairs"
    spec_hash: str = "abc"
    assignment: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({
        "unit": ["a", "b", "c", "d"], "cell": ["treatment", "control", "treatment", "control"],
        "kpi": [10.0, 11.0, 9.0, 8.0], "kpi_share": [0.26, 0.29, 0.24, 0.21], "cost": [100.0, 0.0, 90.0, 0.0]}))
    power_curve: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({
        "estimator": "did", "duration": [2, 4, 6], "effect": 0.05, "power": [0.3, 0.6, 0.85],
        "power_se": 0.02, "bias": 0.0, "coverage": 0.95}))
    duration_table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({
        "duration": [2, 4, 6], "mde": [0.12, 0.07, 0.05], "mde_absolute": [1.2, 0.7, 0.5]}))
    estimator_ranking: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({
        "estimator": ["did", "sdid"], "bias": [0.0, 0.01], "rmse": [0.1, 0.12], "coverage": [0.95, 0.93],
        "type1_error": [0.05, 0.06], "mde": [0.05, 0.06], "recommended": [True, False]}))
    mde: float | None = 0.05
    mde_absolute: float | None = 0.5
    target_power: float = 0.8
    alpha: float = 0.05
    recommended_duration: int | None = 6
    type1_error: float | None = 0.05
    cost: float | None = 190.0
    iroas_mde: float | None = 1.7
    currency: str | None = "USD"
    diagnostics: tuple = (Diagnostic("pre_fit", "pass", "Treatment and control tracked each other.", assumption="fit"),)
    tables: dict = field(default_factory=dict)
    lineage: Any = None
    details: dict = field(default_factory=lambda: {"n_simulations": 200})

    def plot_kinds(self):
        return ("power",)

    def plot(self, kind=None):
        fig = go.Figure()
        fig.add_scatter(x=self.power_curve["duration"], y=self.power_curve["power"])
        return fig


def stand_in_design(**kw) -> StandInDesign:
    spec = ExperimentSpec(name="geo-plan", design="did", outcome="sales", unit="geo", time="week",
                          treatment="treated", question=kw.pop("question", "How long should the geo test run?"))
    return StandInDesign(spec=spec, **kw)
