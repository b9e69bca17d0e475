"""Classic selection-on-observables estimators: inverse propensity weighting and matching.

* :class:`IPW`: Horvitz-Thompson or Hajek (normalised) inverse-propensity weighting for the
  ATE or ATT, with a trimmed propensity from an unpenalised logistic regression (or any
  learner) and an influence-function standard error;
* :class:`PropensityMatching`: nearest-neighbour matching on the logit of the propensity,
  with replacement and a caliper, with the Abadie-Imbens (2006) standard error. Exact ties
  are all kept and averaged (the Abadie-Imbens match set; R ``Matching`` with ``ties=TRUE``),
  so the estimate does not depend on the row order.

Both return the same overlap and balance diagnostics as :class:`~causal_kit.estimators.dml.DML`
so analysts can compare classic methods with DML on one spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._typing import check_fraction, check_option, check_positive_int
from ..errors import IdentificationError, SpecError
from ..inference.basic import normal_ci
from ..result import Diagnostic, EffectEstimate, make_lineage
from . import _crossfit as cf
from .dml import check_separation, feature_arrays

__all__ = ["IPW", "PropensityMatching", "tied_matches", "TiedMatches"]

Estimand = Literal["ATE", "ATT"]


def _propensity(X: np.ndarray, d: np.ndarray, learner: Any, seed: int, owner: str) -> tuple[np.ndarray, str]:
    lr = cf.resolve_learner(learner, True, seed, owner, "propensity")
    return np.asarray(lr.fit_predict(X, d, X, None), dtype=float), lr.name


def _binary_arrays(data: Any, spec: Any, owner: str, estimand: str):  # noqa: ANN202
    prepared, X, y, d, w, clusters = feature_arrays(data, spec, owner)
    if not np.isin(d, (0.0, 1.0)).all():
        raise SpecError(
            f"{owner} needs a binary 0/1 treatment; column {spec.treatment!r} (spec.treatment) has "
            f"{len(np.unique(d))} distinct values. Use DML with model='plr' for a continuous treatment."
        )
    check_separation(prepared.frame, spec.covariates, d, estimand)
    return prepared, X, y, d, w, clusters


def _common_diagnostics(m_raw, d, X, names, trim, weights, label, trimmed=True):  # noqa: ANN001, ANN202
    from ..diagnostics.overlap import propensity_overlap, weighted_balance

    over, t_over = propensity_overlap(m_raw, d, trim, trimmed=trimmed)
    bal, t_bal = weighted_balance(X, list(names), d, weights, label=label)
    return [over, bal], {"overlap": t_over, "balance": t_bal}


class IPW:
    """Inverse propensity weighting (Hajek by default) for a binary treatment.

    Parameters
    ----------
    estimand : {"ATE", "ATT"}
    normalize : bool, default True
        Hajek (weights normalised within arm) when True, Horvitz-Thompson when False.
    propensity : str or scikit-learn classifier, default "linear"
        ``"linear"`` is an unpenalised logistic regression fitted to the MLE; ``"hgb"``,
        ``"forest"`` or any classifier with ``predict_proba`` are fitted in-sample.
    trim : float, default 0.01
        Propensities are clipped to ``[trim, 1 - trim]``; the count is reported.
    seed : int, optional

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("sipp401k")
    >>> spec = ck.ExperimentSpec(name="401k", design="dml", outcome="net_tfa", treatment="e401",
    ...     covariates=["age", "inc", "educ", "fsize", "marr", "twoearn", "db", "pira", "hown"])
    >>> res = IPW().fit(df, spec)
    >>> res.estimand, res.estimate > 0
    ('ATE', True)
    """

    def __init__(self, *, estimand: str = "ATE", normalize: bool = True, propensity: Any = "linear",
                 trim: float = 0.01, seed: int | None = None) -> None:
        self.estimand = estimand
        self.normalize = normalize
        self.propensity = propensity
        self.trim = trim
        self.seed = seed

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the ATE or ATT by inverse propensity weighting."""
        check_option(self.estimand, Estimand, "estimand", "IPW")
        check_fraction(self.trim, "trim", "IPW")
        if not isinstance(self.normalize, bool):
            raise SpecError(f"The 'normalize' parameter of IPW must be a bool. Got {self.normalize!r} instead.")
        seed = spec.seed if self.seed is None else self.seed
        prepared, X, y, d, w, clusters = _binary_arrays(data, spec, "IPW", self.estimand)
        n = len(y)
        w = np.ones(n) if w is None else w / w.mean()
        m_raw, lname = _propensity(X, d, self.propensity, seed, "IPW")
        m = np.clip(m_raw, self.trim, 1 - self.trim)
        if self.estimand == "ATE":
            a1, a0 = w * d / m, w * (1 - d) / (1 - m)
        else:
            a1, a0 = w * d, w * (1 - d) * m / (1 - m)
        if self.normalize:
            mu1, mu0 = np.sum(a1 * y) / np.sum(a1), np.sum(a0 * y) / np.sum(a0)
            # influence function of the ratio estimators (propensity treated as known: conservative for the ATE)
            psi = n * (a1 * (y - mu1) / np.sum(a1) - a0 * (y - mu0) / np.sum(a0))
        else:
            scale = n if self.estimand == "ATE" else np.sum(w * d)
            mu1, mu0 = np.sum(a1 * y) / scale, np.sum(a0 * y) / scale
            psi = n * (a1 * y - a0 * y) / scale - (mu1 - mu0)
        theta = float(mu1 - mu0)
        if clusters is None:
            se = float(np.sqrt(np.mean(psi**2) / n))
        else:
            _, inv = np.unique(clusters, return_inverse=True)
            sums = np.bincount(inv, weights=psi)
            se = float(np.sqrt(np.sum(sums**2) / n**2 * len(sums) / (len(sums) - 1)))
        ci, p = normal_ci(theta, se, spec.alpha)
        diags, tables = _common_diagnostics(m_raw, d, X, spec.covariates, self.trim, a1 + a0, "inverse-propensity weighting")
        from ..diagnostics.overlap import auc

        a = auc(d, m_raw)
        diags.append(Diagnostic("treatment_model_fit", "warn" if a > 0.9 else "pass",
                                f"the propensity model's in-sample AUC is {a:.3f}"
                                + ("; treatment is nearly predictable, so weights are extreme." if a > 0.9 else "."),
                                statistic=a, threshold=0.9, assumption="fit"))
        ess = float(np.sum(a0) ** 2 / np.sum(a0**2))
        kind = "Hajek" if self.normalize else "Horvitz-Thompson"
        return EffectEstimate(
            method="ipw", design=spec.design, estimand=self.estimand, estimate=theta, se=se, ci=ci, p_value=p,
            alpha=spec.alpha, n_obs=n, n_units=None if clusters is None else int(len(np.unique(clusters))),
            n_dropped=prepared.n_dropped, dropped_reasons=prepared.dropped_reasons, diagnostics=tuple(diags),
            tables=tables, lineage=make_lineage(spec, prepared.fingerprint, seed),
            inference=f"{kind} IPW; influence-function standard error treating the propensity as known "
            "(conservative for the ATE)" + (f", clustered by {spec.cluster!r}" if clusters is not None else "")
            + "; normal confidence interval.",
            outcome=spec.outcome, baseline=float(mu0), exposure=float(d.sum()),
            details={"propensity_model": lname, "trim": self.trim,
                     "n_trimmed": int(np.sum((m_raw < self.trim) | (m_raw > 1 - self.trim))),
                     "effective_n_control": ess, "normalize": self.normalize},
            label=f"IPW ({kind}, {self.estimand})",
        )


class PropensityMatching:
    """Nearest-neighbour matching on the logit propensity score, with replacement and a caliper.

    Parameters
    ----------
    estimand : {"ATT", "ATE"}, default "ATT"
    n_neighbors : int, default 1
    caliper : float or None, default 0.2
        Maximum distance in standard deviations of the logit propensity (Austin 2011). Units
        without a match inside the caliper are excluded from the estimand and counted.
    propensity : str or scikit-learn classifier, default "linear"
    seed : int, optional

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("sipp401k")
    >>> spec = ck.ExperimentSpec(name="401k", design="dml", outcome="net_tfa", treatment="e401",
    ...     covariates=["age", "inc", "educ", "fsize", "marr", "twoearn", "db", "pira", "hown"])
    >>> PropensityMatching().fit(df, spec).estimand
    'ATT'
    """

    def __init__(self, *, estimand: str = "ATT", n_neighbors: int = 1, caliper: float | None = 0.2,
                 propensity: Any = "linear", seed: int | None = None) -> None:
        self.estimand = estimand
        self.n_neighbors = n_neighbors
        self.caliper = caliper
        self.propensity = propensity
        self.seed = seed

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Match treated (and, for the ATE, control) units to the nearest opposite-arm units."""
        check_option(self.estimand, Estimand, "estimand", "PropensityMatching")
        k = check_positive_int(self.n_neighbors, "n_neighbors", "PropensityMatching")
        if self.caliper is not None and (isinstance(self.caliper, bool) or not isinstance(self.caliper, (int, float))
                                         or not float(self.caliper) > 0 or not np.isfinite(self.caliper)):
            raise SpecError(
                f"The 'caliper' parameter of PropensityMatching must be a positive float or None. "
                f"Got {self.caliper!r} instead."
            )
        seed = spec.seed if self.seed is None else self.seed
        prepared, X, y, d, w, clusters = _binary_arrays(data, spec, "PropensityMatching", self.estimand)
        if w is not None:
            raise SpecError("PropensityMatching does not support spec.weights; use IPW or DML for weighted data.")
        m_raw, lname = _propensity(X, d, self.propensity, seed, "PropensityMatching")
        m = np.clip(m_raw, 1e-6, 1 - 1e-6)
        s = np.log(m / (1 - m))
        cal = None if self.caliper is None else float(self.caliper) * float(s.std())
        t_idx, c_idx = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
        if len(c_idx) < k or len(t_idx) < k:
            raise IdentificationError(f"matching with n_neighbors={k} needs at least {k} treated and control rows.")
        sides = [(t_idx, c_idx, 1.0)] if self.estimand == "ATT" else [(t_idx, c_idx, 1.0), (c_idx, t_idx, -1.0)]
        tol = 1e-10 * max(1.0, float(s.std()))  # propensities equal up to rounding are ties
        K = np.zeros(len(y))   # sum over focal units of 1/#matches(l) for each row used as a match
        K2 = np.zeros(len(y))  # the same with 1/#matches(l)^2 (Abadie-Imbens K'_M)
        effects, used, unmatched = [], [], 0
        for focal, pool, sign in sides:
            m = tied_matches(s[pool], s[focal], k, tol)
            ok = np.ones(len(focal), bool) if cal is None else (m.kth_distance <= cal + tol)
            unmatched += int((~ok).sum())
            y_pool = y[pool][m.order]
            csum = np.concatenate([[0.0], np.cumsum(y_pool)])
            lo, hi = m.lo[ok], m.hi[ok]
            y_cf = (csum[hi] - csum[lo]) / (hi - lo)  # average over all tied nearest matches
            effects.append(sign * (y[focal[ok]] - y_cf))
            used.append(focal[ok])
            rows = pool[m.order]
            share = 1.0 / (hi - lo)
            for target, wgt in ((K, share), (K2, share**2)):
                diff = np.zeros(len(pool) + 1)
                np.add.at(diff, lo, wgt)
                np.add.at(diff, hi, -wgt)
                target[rows] += np.cumsum(diff)[:-1]
        eff = np.concatenate(effects)
        n_m = len(eff)
        if n_m == 0:
            raise IdentificationError(
                f"no unit found a match within the caliper ({self.caliper} SD of the logit propensity); "
                "widen the caliper or set caliper=None."
            )
        theta = float(eff.mean())
        # Abadie-Imbens (2006) variance: effect heterogeneity plus conditional-variance terms, with
        # sigma^2(x) estimated by matching each row to its nearest same-arm neighbours (all ties).
        sig2 = _same_arm_var(s, y, d, tol)
        var = (np.sum((eff - theta) ** 2) + np.sum((K**2 - K2) * sig2)) / n_m**2
        se = float(np.sqrt(var))
        ci, p = normal_ci(theta, se, spec.alpha)
        weights = np.where(d == 1, 1.0, 0.0) + K if self.estimand == "ATT" else K + np.isin(
            np.arange(len(y)), np.concatenate(used)).astype(float)
        diags, tables = _common_diagnostics(m_raw, d, X, spec.covariates, 0.01, np.maximum(weights, 1e-12),
                                            "matching", trimmed=False)
        n_focal = sum(len(f) for f, _, _ in sides)
        share = unmatched / n_focal
        diags.append(Diagnostic(
            "caliper_unmatched", "pass" if share <= 0.05 else "warn",
            f"{unmatched} of {n_focal} units ({share:.1%}) found no match within the caliper and are excluded "
            "from the estimand" + ("." if share <= 0.05 else "; the estimate describes the matched population only."),
            statistic=share, threshold=0.05, assumption="overlap"))
        baseline = float(np.mean(y[np.concatenate(used)]) - theta) if self.estimand == "ATT" else None
        return EffectEstimate(
            method="psm", design=spec.design, estimand=self.estimand, estimate=theta, se=se, ci=ci, p_value=p,
            alpha=spec.alpha, n_obs=len(y), n_dropped=prepared.n_dropped, dropped_reasons=prepared.dropped_reasons,
            diagnostics=tuple(diags), tables=tables, lineage=make_lineage(spec, prepared.fingerprint, seed),
            inference="nearest-neighbour matching on the logit propensity with replacement; Abadie-Imbens (2006) "
            "standard error, ignoring estimation of the propensity; normal confidence interval.",
            outcome=spec.outcome, baseline=baseline, exposure=float(n_m) if self.estimand == "ATT" else None,
            details={"propensity_model": lname, "n_neighbors": k, "caliper": self.caliper,
                     "caliper_logit_units": cal, "n_unmatched": unmatched, "n_matched": n_m,
                     "distinct_controls_used": int(np.sum((K > 0) & (d == 0)))},
            label=f"Propensity matching ({self.estimand}, {k}-NN)",
        )


@dataclass(frozen=True)
class TiedMatches:
    """Nearest matches with ties, as ranges of the sorted pool.

    ``order`` sorts the pool; query ``i`` matches the sorted pool positions ``lo[i]:hi[i]``: every
    pool value within the ``k``-th nearest distance ``kth_distance[i]`` (plus ``tol``).
    """

    order: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    kth_distance: np.ndarray


def tied_matches(pool: np.ndarray, query: np.ndarray, k: int, tol: float = 0.0) -> TiedMatches:
    """The ``k`` nearest pool values of each query, keeping every value tied with the ``k``-th.

    This is the Abadie-Imbens (2006) match set J_M(i) (R ``Matching`` with ``ties=TRUE``):
    breaking exact ties by row order would make the estimate depend on how the data are sorted.
    The sorted pool and a binary search find the range, so ties cost no extra pass.

    Examples
    --------
    >>> import numpy as np
    >>> m = tied_matches(np.array([0.0, 1.0, 1.0, 3.0]), np.array([1.1]), k=1)
    >>> int(m.hi[0] - m.lo[0])  # both pool values at 1.0 are tied nearest matches
    2
    """
    order = np.argsort(pool, kind="stable")
    sorted_pool = pool[order]
    n = len(sorted_pool)
    pos = np.searchsorted(sorted_pool, query)
    # the k-th nearest distance: merge the k candidates on each side of the insertion point
    offsets = np.arange(-k, k)
    cand = np.clip(pos[:, None] + offsets[None, :], 0, n - 1)
    dist = np.abs(sorted_pool[cand] - query[:, None])
    valid = (pos[:, None] + offsets[None, :] >= 0) & (pos[:, None] + offsets[None, :] < n)
    dist = np.where(valid, dist, np.inf)
    # candidate positions may repeat after clipping; invalid ones are inf, so the k-th smallest is right
    kth = np.sort(dist, axis=1)[:, k - 1]
    lo = np.searchsorted(sorted_pool, query - kth - tol, side="left")
    hi = np.searchsorted(sorted_pool, query + kth + tol, side="right")
    return TiedMatches(order=order, lo=lo, hi=hi, kth_distance=kth)


def _same_arm_var(s: np.ndarray, y: np.ndarray, d: np.ndarray, tol: float = 0.0) -> np.ndarray:
    """Abadie-Imbens (2006) sigma^2(x_i): J/(J+1) (y_i - mean of its J nearest same-arm rows)^2.

    J counts every row tied for nearest (so the result does not depend on row order).
    """
    sig2 = np.zeros(len(y))
    for arm in (0, 1):
        idx = np.flatnonzero(d == arm)
        if len(idx) < 2:
            continue
        m = tied_matches(s[idx], s[idx], 2, tol)  # the 2nd nearest of a row is its nearest other row
        ys = y[idx][m.order]
        csum = np.concatenate([[0.0], np.cumsum(ys)])
        count = m.hi - m.lo - 1  # the row itself is inside its own range
        mean_other = (csum[m.hi] - csum[m.lo] - y[idx]) / count
        sig2[idx] = count / (count + 1) * (y[idx] - mean_other) ** 2
    return sig2
