"""Spec blocks for interference designs: spillover bands and switchback schedules.

:class:`SpilloverConfig` (``spec.spillover``) says how exposure to treated units is
measured: distance bands in km with ``spec.coordinates``, or graph hops with
``spec.neighbors``. :class:`SwitchbackConfig` (``spec.switchback``) describes a switchback
schedule: how many time steps one randomised period lasts, how many steps the previous
policy carries over (the burn-in dropped at the start of every period), the randomisation
blocks and the treated probability.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["SpilloverConfig", "SwitchbackConfig"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpilloverConfig(_Frozen):
    """How exposure to treated units is measured (designs ``spillover``; ``spec.spillover``).

    With ``spec.coordinates`` an untreated unit falls in ring ``b`` when its great-circle
    distance to the nearest treated unit lies in ``(bands_km[b-1], bands_km[b]]`` (the first
    ring starts at 0); units beyond the last edge are the far controls. With
    ``spec.neighbors`` ring ``b`` holds the untreated units ``b`` hops from a treated unit,
    up to ``hops``.
    """

    bands_km: tuple[float, ...] = Field(
        (25.0,), min_length=1, description="Outer edges of the distance rings in km, increasing, e.g. [10, 25, 50]."
    )
    hops: int = Field(1, ge=1, le=5, description="With spec.neighbors: rings of 1..hops graph hops from a treated unit.")
    buffer: bool = Field(
        False, description="Design-time buffer: drop the exposed (ring) units instead of estimating their spillover."
    )

    @field_validator("bands_km", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return (value,) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _increasing(self) -> SpilloverConfig:
        edges = self.bands_km
        if any(e <= 0 for e in edges) or any(a >= b for a, b in zip(edges, edges[1:])):
            raise ValueError(f"spillover.bands_km must be positive and strictly increasing; got {list(edges)}")
        return self


class SwitchbackConfig(_Frozen):
    """A switchback schedule (design ``switchback``; ``spec.switchback``).

    Time steps (rows of ``spec.time``) are grouped into randomised periods of
    ``period_length`` consecutive steps; each block (``block`` column, or each unit) draws
    its own policy per period, treated with probability ``p``. The first ``carryover`` steps
    of every period are burn-in: the previous policy may still act on them, so the analysis
    drops them.
    """

    period_length: int = Field(..., ge=1, description="Time steps in one randomised period (e.g. 24 hours).")
    carryover: int = Field(
        0, ge=0, description="Time steps the previous policy still acts after a switch; dropped as burn-in."
    )
    block: str | None = Field(
        None, description="Column of randomisation blocks sharing one schedule (e.g. city); default: each unit."
    )
    p: float = Field(0.5, gt=0.0, lt=1.0, description="Probability that a period is treated.")
    n_periods: int | None = Field(None, ge=2, description="Periods in the planned test (design.plan_switchback).")
    max_lag: int | None = Field(
        None, ge=1, description="Largest carryover lag (in steps) tested by the carryover regression; default "
        "period_length - 1.",
    )

    @model_validator(mode="after")
    def _burn_in_fits(self) -> SwitchbackConfig:
        if self.carryover >= self.period_length:
            raise ValueError(
                f"switchback.period_length ({self.period_length} steps) must be longer than switchback.carryover "
                f"({self.carryover} steps): periods shorter than the carryover leave no step free of the previous "
                "policy. Lengthen the periods or shorten the carryover."
            )
        return self
