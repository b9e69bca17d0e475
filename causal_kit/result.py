"""The one result shape every method returns: :class:`EffectEstimate` and :class:`Diagnostic`.

Results hold raw numbers (never formatted strings), named tables, uniform diagnostics and
the lineage needed to reproduce them. ``tidy()`` is the single source of truth for the
headline numbers; ``to_dict()`` / ``from_dict()`` round-trip through JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _hooks
from ._typing import Assumption, Status, check_option

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from .spec import ExperimentSpec

__all__ = ["Diagnostic", "Lineage", "EffectEstimate", "LazyTables", "make_lineage", "package_versions"]

_VERSIONED = (
    "causal_kit", "numpy", "pandas", "scipy", "statsmodels", "linearmodels", "scikit-learn",
    "econml", "dowhy", "plotly", "pydantic",
)


@dataclass(frozen=True)
class Diagnostic:
    """One check of an assumption, with a status an analyst can act on.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"pre_trends"``.
    status : {"pass", "warn", "fail", "not_applicable"}
    message : str
        One sentence saying what was found and what to do.
    statistic, p_value, threshold : float, optional
        The test statistic, its p-value and the threshold the status was judged against.
    assumption : str
        The assumption it checks (``parallel_trends``, ``fit``, ``overlap``, ...), used to
        group diagnostics in reports.
    """

    name: str
    status: Status
    message: str
    statistic: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    assumption: Assumption = "other"

    def __post_init__(self) -> None:
        check_option(self.status, Status, "status", "Diagnostic")
        check_option(self.assumption, Assumption, "assumption", "Diagnostic")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class Lineage:
    """Where a result came from: spec hash, data fingerprint, seed, versions, timestamp."""

    spec_hash: str
    data_fingerprint: str
    seed: int | None
    versions: dict[str, str]
    timestamp: str
    spec: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@lru_cache(maxsize=1)
def _installed_versions() -> tuple[tuple[str, str], ...]:
    from importlib import metadata

    out = []
    for name in _VERSIONED:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(out)


def package_versions() -> dict[str, str]:
    """Installed versions of causal_kit and the libraries its numbers depend on."""
    return dict(_installed_versions())


def make_lineage(spec: ExperimentSpec | None, data_fingerprint: str, seed: int | None = None) -> Lineage:
    """Build the lineage record for a result computed now from ``spec`` and data."""
    return Lineage(
        spec_hash=spec.spec_hash if spec is not None else "",
        data_fingerprint=data_fingerprint,
        seed=seed if seed is not None else (spec.seed if spec is not None else None),
        versions=package_versions(),
        timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        spec=spec.model_dump(mode="json") if spec is not None else {},
    )


class LazyTables(Mapping[str, pd.DataFrame]):
    """Named result tables, some computed on first access and then cached.

    Tables that only a report or a plot reads (the trends table of a panel, for example)
    are given as zero-argument callables; the fit does not pay for them. ``tables[name]``,
    iteration, ``items()``, ``to_dict()`` and pickling all see every table, so a lazy table
    is indistinguishable from an eager one except for when it is computed.

    Examples
    --------
    >>> import pandas as pd
    >>> from causal_kit.result import LazyTables
    >>> t = LazyTables({"a": pd.DataFrame({"x": [1]})}, lazy={"b": lambda: pd.DataFrame({"y": [2]})})
    >>> sorted(t), t.computed("b"), int(t["b"]["y"].iloc[0]), t.computed("b")
    (['a', 'b'], False, 2, True)
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame] | None = None, *,
                 lazy: Mapping[str, Callable[[], pd.DataFrame]] | None = None) -> None:
        self._tables: dict[str, pd.DataFrame] = dict(tables or {})
        self._lazy: dict[str, Callable[[], pd.DataFrame]] = {
            k: v for k, v in (lazy or {}).items() if k not in self._tables}
        self._order = list(self._tables) + list(self._lazy)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            if name not in self._lazy:
                raise KeyError(name)
            self._tables[name] = self._lazy.pop(name)()
        return self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._tables or name in self._lazy

    def computed(self, name: str) -> bool:
        """True once table ``name`` exists (eager, or lazy and already read)."""
        return name in self._tables

    def __reduce__(self) -> tuple[Any, ...]:
        # pickles hold the tables themselves, never the callables that build them
        return (LazyTables, (dict(self.items()),))

    def __repr__(self) -> str:
        return f"LazyTables({self._order!r})"


@dataclass(frozen=True)
class EffectEstimate:
    """An effect estimate with its uncertainty, diagnostics, tables and lineage.

    Attributes
    ----------
    method : str
        Registered estimator name, e.g. ``"ab"`` or ``"sdid"``.
    estimand : str
        What is estimated: ``"ATE"``, ``"ATT"``, ``"LATE"``, ...
    estimate, se : float
        Point estimate and standard error, in outcome units.
    ci : tuple of float
        ``(low, high)`` confidence interval at level ``1 - alpha``.
    p_value : float
        Two-sided p-value for "no effect".
    baseline : float, optional
        Counterfactual mean outcome of the treated, for % lift.
    relative_ci : tuple of float, optional
        CI of the relative lift, when the estimator computes one (delta method).
    exposure : float, optional
        Number of treated units (or unit-periods) the per-unit effect applies to, so that
        ``estimate * exposure`` is the total incremental outcome.
    details : dict
        Further scalars of the method (bandwidths, weights' effective n, ...).

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="cuped", design="ab", outcome="y", treatment="treat",
    ...                          pre_covariate="pre")
    >>> res = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)
    >>> round(res.estimate, 4)
    0.256
    """

    method: str
    estimand: str
    estimate: float
    se: float
    ci: tuple[float, float]
    p_value: float
    alpha: float
    n_obs: int
    outcome: str = ""
    design: str = ""
    n_units: int | None = None
    n_dropped: int = 0
    dropped_reasons: dict[str, int] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    lineage: Lineage | None = None
    inference: str = ""
    df_resid: float | None = None
    baseline: float | None = None
    relative_ci: tuple[float, float] | None = None
    exposure: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    # ------------------------------------------------------------------ numbers
    @property
    def relative_lift(self) -> float | None:
        """Estimate divided by the counterfactual baseline, or None without a baseline."""
        if self.baseline is None or self.baseline == 0 or not math.isfinite(self.baseline):
            return None
        return self.estimate / self.baseline

    @property
    def relative_lift_ci(self) -> tuple[float, float] | None:
        """CI of the relative lift: the estimator's own, else the CI over the baseline."""
        if self.relative_ci is not None:
            return self.relative_ci
        if self.relative_lift is None:
            return None
        lo, hi = self.ci[0] / self.baseline, self.ci[1] / self.baseline  # type: ignore[operator]
        return (min(lo, hi), max(lo, hi))

    @property
    def incremental_total(self) -> tuple[float, tuple[float, float]] | None:
        """Total incremental outcome and its CI: ``estimate * exposure``."""
        if self.exposure is None:
            return None
        return self.estimate * self.exposure, (self.ci[0] * self.exposure, self.ci[1] * self.exposure)

    @property
    def significant(self) -> bool:
        """True when the p-value is below alpha."""
        return bool(self.p_value < self.alpha)

    @property
    def worst_status(self) -> Status:
        """The most severe diagnostic status: fail > warn > pass > not_applicable."""
        order = {"fail": 3, "warn": 2, "pass": 1, "not_applicable": 0}
        if not self.diagnostics:
            return "not_applicable"
        return max((d.status for d in self.diagnostics), key=order.__getitem__)

    def tidy(self) -> pd.DataFrame:
        """One row with the headline numbers; the single source of truth for them.

        Examples
        --------
        >>> import causal_kit as ck
        >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat")
        >>> ck.estimate(ck.datasets.load("ab_cuped_sim"), spec).tidy().columns[:4].tolist()
        ['method', 'estimand', 'estimate', 'se']
        """
        lift = self.relative_lift
        lift_ci = self.relative_lift_ci or (np.nan, np.nan)
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "estimand": self.estimand,
                    "estimate": self.estimate,
                    "se": self.se,
                    "ci_low": self.ci[0],
                    "ci_high": self.ci[1],
                    "p_value": self.p_value,
                    "alpha": self.alpha,
                    "relative_lift": np.nan if lift is None else lift,
                    "relative_ci_low": lift_ci[0],
                    "relative_ci_high": lift_ci[1],
                    "n_obs": self.n_obs,
                    "n_units": self.n_units,
                    "label": self.label or self.method,
                }
            ]
        )

    def summary(self) -> str:
        """A plain-text summary: the headline, the diagnostics and the lineage."""
        return _hooks.call("summary_text", self)

    def explain(self, spec: ExperimentSpec | Mapping[str, Any] | None = None) -> str:
        """A short plain-language paragraph: what was tested, what happened, how sure, what it rests on.

        The same sentences the report's summary shows, every number formatted from this result's
        own numbers; a result whose interval includes zero never reads like a win.

        Examples
        --------
        >>> import causal_kit as ck
        >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat")
        >>> "How sure:" in ck.estimate(ck.datasets.load("ab_cuped_sim"), spec).explain()
        True
        """
        return _hooks.call("explain_text", self, spec)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"EffectEstimate(method={self.method!r}, estimand={self.estimand!r}, "
            f"estimate={self.estimate:.6g}, se={self.se:.6g}, ci=({self.ci[0]:.6g}, {self.ci[1]:.6g}), "
            f"p_value={self.p_value:.4g}, n_obs={self.n_obs})"
        )

    def _repr_html_(self) -> str:
        return _hooks.call("result_card", self)

    def plot(self, kind: str | None = None) -> go.Figure:
        """A plotly figure of the result; ``kind`` picks among :meth:`plot_kinds`.

        Examples
        --------
        >>> import causal_kit as ck
        >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat")
        >>> fig = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec).plot()
        >>> type(fig).__name__
        'Figure'
        """
        return _hooks.call("plot_result", self, kind)

    def plot_kinds(self) -> tuple[str, ...]:
        """The plot kinds this result offers; the first is the default."""
        return tuple(_hooks.call("plot_kinds", self))

    def diagnostic(self, name: str) -> Diagnostic:
        """The diagnostic called ``name``; ``KeyError`` listing the names if absent."""
        for d in self.diagnostics:
            if d.name == name:
                return d
        raise KeyError(f"no diagnostic {name!r}; this result has {[d.name for d in self.diagnostics]}")

    def with_updates(self, **changes: Any) -> EffectEstimate:
        """A copy with some fields replaced."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict; :meth:`from_dict` rebuilds an equal result."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "diagnostics":
                out[f.name] = [d.to_dict() for d in value]
            elif f.name == "tables":
                out[f.name] = {k: _table_to_dict(v) for k, v in value.items()}
            elif f.name == "lineage":
                out[f.name] = value.to_dict() if value is not None else None
            else:
                out[f.name] = _jsonable(value)
        return out

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> EffectEstimate:
        """Rebuild a result from :meth:`to_dict` output."""
        data = dict(payload)
        data["ci"] = tuple(data["ci"])
        if data.get("relative_ci") is not None:
            data["relative_ci"] = tuple(data["relative_ci"])
        data["diagnostics"] = tuple(Diagnostic(**d) for d in data.get("diagnostics", ()))
        data["tables"] = {k: _table_from_dict(v) for k, v in data.get("tables", {}).items()}
        if data.get("lineage") is not None:
            data["lineage"] = Lineage(**data["lineage"])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> EffectEstimate:
        """Rebuild a result from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return value


def _table_to_dict(df: pd.DataFrame) -> dict[str, Any]:
    frame = df.reset_index(drop=True) if not isinstance(df.index, pd.RangeIndex) else df
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "data": [[_jsonable(v) for v in row] for row in frame.itertuples(index=False, name=None)],
    }


def _table_from_dict(payload: Mapping[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(payload["data"], columns=payload["columns"])
    for col, dtype in zip(payload["columns"], payload.get("dtypes", [])):
        if dtype.startswith(("int", "float", "bool")) and len(df):
            try:
                df[col] = df[col].astype(dtype)
            except (TypeError, ValueError):
                continue
    return df
