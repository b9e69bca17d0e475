"""Evidence synthesis: random-effects meta-analysis of the same intervention's effect on the same outcome.

:func:`meta_analysis` pools effects with standard errors (DerSimonian-Laird or REML between-study
variance; normal or Hartung-Knapp intervals, with or without the ad hoc truncation), and reports
heterogeneity (Q, I², H², τ²) and a prediction interval, matching R ``metafor::rma`` (see
``tests/reference``). :func:`synthesize` groups evidence records by intervention and outcome,
keeps one effect per study (its latest run) and pools each group.

The estimators are written here rather than imported: they are a few closed-form lines (DL) and
one fixed-point iteration (REML), and no light, well-kept Python package provides them with
Hartung-Knapp intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from ..errors import ConvergenceError, DataError, SpecError
from .record import EvidenceError, EvidenceRecord

__all__ = ["PoolMethod", "PoolInterval", "MetaAnalysis", "meta_analysis", "synthesize"]

PoolMethod = Literal["REML", "DL"]
#: ``hartung_knapp_adhoc`` (default) never gives an interval narrower than the normal one when
#: the studies agree more than chance would suggest; ``hartung_knapp`` is the untruncated form.
PoolInterval = Literal["hartung_knapp_adhoc", "hartung_knapp", "normal"]


@dataclass(frozen=True)
class MetaAnalysis:
    """A pooled effect with its interval, heterogeneity and the studies behind it.

    Attributes
    ----------
    estimate, se, ci, p_value : float
        Pooled effect, its standard error (Hartung-Knapp when that interval is used), interval and p-value.
    tau2, i2, h2, q, q_p_value : float
        Between-study variance, I² (in %, as metafor), H², Cochran's Q and its p-value.
    prediction_interval : tuple of float
        Where the effect of a new study is expected to fall.
    k : int
        Number of studies.
    method, interval : str
    alpha : float
    labels, effects, ses, weights : tuple
        Per study: its label, effect, SE and weight in % (forest plot).
    record_ids : tuple of str
        The evidence records pooled (empty when called on numbers).
    intervention, outcome, unit : str
    """

    estimate: float
    se: float
    ci: tuple[float, float]
    p_value: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_p_value: float
    prediction_interval: tuple[float, float]
    k: int
    method: str
    interval: str
    alpha: float
    labels: tuple[str, ...]
    effects: tuple[float, ...]
    ses: tuple[float, ...]
    weights: tuple[float, ...]
    record_ids: tuple[str, ...] = ()
    intervention: str = ""
    outcome: str = ""
    unit: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        from dataclasses import asdict

        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _check(value: Any, allowed: Any, name: str) -> None:
    options = get_args(allowed)
    if value not in options:
        raise SpecError(f"The {name!r} parameter of synthesize must be one of {', '.join(map(repr, options))}. "
                        f"Got {value!r} instead.")


def _tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    w = 1 / v
    mu = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu) ** 2))
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    return max(0.0, (q - (len(y) - 1)) / c) if c > 0 else 0.0


def _tau2_reml(y: np.ndarray, v: np.ndarray, tol: float = 1e-12, max_iter: int = 1000) -> float:
    # Fixed-point form of the REML score equation (Viechtbauer 2005, eq. 12), started at DL and
    # truncated at zero, as metafor does.
    tau2 = _tau2_dl(y, v)
    for _ in range(max_iter):
        w = 1 / (v + tau2)
        mu = np.sum(w * y) / np.sum(w)
        new = float(np.sum(w**2 * ((y - mu) ** 2 - v)) / np.sum(w**2) + 1 / np.sum(w))
        new = max(0.0, new)
        if abs(new - tau2) <= tol * max(1.0, tau2):
            return new
        tau2 = new
    raise ConvergenceError(f"REML for the between-study variance did not converge in {max_iter} iterations "
                           f"(last tau2 = {tau2!r}); use method='DL'.")


def meta_analysis(effects: Sequence[float], ses: Sequence[float], *, method: PoolMethod = "REML",
                  interval: PoolInterval = "hartung_knapp_adhoc", alpha: float = 0.05,
                  labels: Sequence[str] | None = None) -> MetaAnalysis:
    """Random-effects meta-analysis of ``effects`` with standard errors ``ses``.

    Parameters
    ----------
    effects, ses : sequence of float
        One effect and its standard error per study (at least two studies, SEs > 0).
    method : {"REML", "DL"}
        Estimator of the between-study variance τ².
    interval : {"hartung_knapp_adhoc", "hartung_knapp", "normal"}
        Hartung-Knapp (t with k - 1 df; the ad hoc form never narrower than the normal-based one)
        or the normal (z) interval.
    alpha : float
    labels : sequence of str, optional

    Returns
    -------
    MetaAnalysis

    Examples
    --------
    >>> m = meta_analysis([-0.89, -1.59, -1.35, -1.44, -0.22], [0.57, 0.44, 0.64, 0.14, 0.23], method="DL")
    >>> round(m.estimate, 3), m.k
    (-1.068, 5)
    """
    _check(method, PoolMethod, "method")
    _check(interval, PoolInterval, "interval")
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise SpecError(f"The 'alpha' parameter of synthesize must be a float in (0, 1). Got {alpha!r} instead.")
    try:
        y = np.asarray(effects, dtype=float)
        s = np.asarray(ses, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"effects and ses must be numbers ({exc}).") from None
    if y.ndim != 1 or y.shape != s.shape:
        raise DataError(f"effects and ses must be two lists of the same length; got {y.size} effects and {s.size} SEs.")
    k = y.size
    if k < 2:
        raise DataError(f"a meta-analysis needs at least 2 studies; got {k}. Record more studies of this intervention.")
    bad = [i for i in range(k) if not (np.isfinite(y[i]) and np.isfinite(s[i]) and s[i] > 0)]
    if bad:
        raise DataError(f"{len(bad)} of {k} studies have a non-finite effect or a standard error that is not "
                        f"positive (positions {bad[:5]}); drop them or fix their SEs.")
    from scipy import stats

    v = s**2
    tau2 = _tau2_dl(y, v) if method == "DL" else _tau2_reml(y, v)
    w_fixed = 1 / v
    mu_fixed = np.sum(w_fixed * y) / np.sum(w_fixed)
    q = float(np.sum(w_fixed * (y - mu_fixed) ** 2))
    q_p = float(stats.chi2.sf(q, k - 1))
    w = 1 / (v + tau2)
    mu = float(np.sum(w * y) / np.sum(w))
    se_z = float(math.sqrt(1 / np.sum(w)))
    if interval == "normal":
        se, crit = se_z, float(stats.norm.ppf(1 - alpha / 2))
        p = float(2 * stats.norm.sf(abs(mu) / se))
    else:
        scale = float(np.sum(w * (y - mu) ** 2) / (k - 1))
        if interval == "hartung_knapp_adhoc":
            scale = max(1.0, scale)
        se, crit = math.sqrt(scale) * se_z, float(stats.t.ppf(1 - alpha / 2, k - 1))
        p = float(2 * stats.t.sf(abs(mu) / se, k - 1)) if se > 0 else 0.0
    # I² and H² from the "typical" within-study variance, as metafor reports them
    s2 = (k - 1) * np.sum(w_fixed) / (np.sum(w_fixed) ** 2 - np.sum(w_fixed**2))
    i2 = float(100 * tau2 / (tau2 + s2))
    h2 = float((tau2 + s2) / s2)
    half_pi = crit * math.sqrt(tau2 + se**2)
    weights = tuple(float(x) for x in 100 * w / np.sum(w))
    return MetaAnalysis(
        estimate=mu, se=se, ci=(mu - crit * se, mu + crit * se), p_value=p, tau2=float(tau2), i2=i2, h2=h2, q=q,
        q_p_value=q_p, prediction_interval=(mu - half_pi, mu + half_pi), k=int(k), method=method, interval=interval,
        alpha=float(alpha), labels=tuple(labels) if labels is not None else tuple(f"study {i + 1}" for i in range(k)),
        effects=tuple(float(x) for x in y), ses=tuple(float(x) for x in s), weights=weights,
    )


def _one_per_study(items: Sequence[EvidenceRecord]) -> tuple[list[EvidenceRecord], list[str]]:
    """The latest run of each study (its first method when a run has several), in study order."""
    latest: dict[str, EvidenceRecord] = {}
    notes = []
    for rec in items:
        prev = latest.get(rec.study)
        if prev is not None and prev.provenance.run_id == rec.provenance.run_id:
            notes.append(f"{rec.study}: run {rec.provenance.run_id} has several methods; pooled "
                         f"{prev.effect.method}, not {rec.effect.method}.")
            continue
        latest[rec.study] = rec
    return list(latest.values()), notes


def synthesize(records: Sequence[EvidenceRecord], *, method: PoolMethod = "REML",
               interval: PoolInterval = "hartung_knapp_adhoc", alpha: float = 0.05,
               min_studies: int = 2) -> list[MetaAnalysis]:
    """Pool the effects of the same intervention on the same outcome across studies.

    Records are grouped by ``intervention.key`` and ``outcome.key``; each study contributes its
    latest run (a run with several methods contributes its first method, noted in ``notes``).
    Groups with fewer than ``min_studies`` studies are left out.

    Parameters
    ----------
    records : sequence of EvidenceRecord
        From :func:`causal_kit.knowledge.records`, oldest first.
    method, interval, alpha :
        See :func:`meta_analysis`.
    min_studies : int

    Returns
    -------
    list of MetaAnalysis
        One per group, largest first.

    Raises
    ------
    EvidenceError
        Studies of one group measure the outcome in different units or scales, or lack an SE.

    Examples
    --------
    >>> from causal_kit.knowledge.record import record_from_row
    >>> rows = [{"run_id": f"r{i}", "name": f"market-{i}", "method": "did", "estimate": e, "se": 0.1,
    ...          "ci_low": e - 0.2, "ci_high": e + 0.2, "alpha": 0.05,
    ...          "spec": "name: x\\noutcome: orders\\nreport:\\n  intervention: free delivery\\n"}
    ...         for i, e in enumerate([0.3, 0.5, 0.4])]
    >>> (pooled,) = synthesize([record_from_row(r) for r in rows])
    >>> pooled.k, round(pooled.estimate, 3), pooled.intervention
    (3, 0.4, 'free delivery')
    """
    if not isinstance(min_studies, int) or min_studies < 2:
        raise SpecError(f"The 'min_studies' parameter of synthesize must be an int >= 2. Got {min_studies!r} instead.")
    groups: dict[tuple[str, str], list[EvidenceRecord]] = {}
    for rec in records:
        if not isinstance(rec, EvidenceRecord):
            raise EvidenceError(f"synthesize takes evidence records (causal_kit.knowledge.records); got "
                                f"{type(rec).__name__}.")
        groups.setdefault((rec.intervention.key, rec.outcome.key), []).append(rec)
    out = []
    for items in groups.values():
        chosen, notes = _one_per_study(items)
        if len(chosen) < min_studies:
            continue
        scales = {(r.outcome.scale, r.outcome.unit, r.outcome.kind) for r in chosen}
        if len(scales) > 1:
            raise EvidenceError(f"studies of {chosen[0].intervention.label!r} on {chosen[0].outcome.label!r} measure "
                                f"the outcome differently ({sorted(scales)}); state one outcome_kind, unit and scale.")
        missing = [r.study for r in chosen if r.effect.se is None or r.effect.estimate is None]
        if missing:
            raise EvidenceError(f"{len(missing)} studies have no standard error ({missing[:5]}); they cannot be pooled.")
        pooled = meta_analysis([r.effect.estimate for r in chosen], [r.effect.se for r in chosen], method=method,
                               interval=interval, alpha=alpha, labels=[r.study for r in chosen])
        first = chosen[0]
        out.append(MetaAnalysis(**{**pooled.__dict__, "record_ids": tuple(r.id for r in chosen),
                                   "intervention": first.intervention.label, "outcome": first.outcome.label,
                                   "unit": first.outcome.unit, "notes": tuple(notes)}))
    out.sort(key=lambda m: -m.k)
    return out
