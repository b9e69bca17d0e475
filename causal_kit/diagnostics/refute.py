"""Refutation checks for an estimator: placebo treatment, random common cause, data subset.

Each check re-runs the caller's own estimator, a function ``fn(X, y, d, w, clusters) ->
(estimate, se)``, on perturbed data. Two engines are available:

* :func:`run_dowhy_refuters` (the default of :class:`causal_kit.estimators.dml.DML`) hands the
  estimator to DoWhy: it builds a ``dowhy.CausalModel`` with the covariates as common causes,
  identifies the backdoor estimand, wraps ``fn`` in a ``dowhy.causal_estimator.CausalEstimator``
  subclass so that DoWhy's ``placebo_treatment_refuter`` (permute), ``random_common_cause``
  and ``data_subset_refuter`` refit the *same* estimator, and turns each ``CausalRefutation``
  into a :class:`~causal_kit.result.Diagnostic`.
* :func:`run_refuters` is a fast native implementation of the same three perturbations (one
  refit each, and a closed-form placebo when the caller supplies one). It is kept because
  DoWhy's refuters need several full refits per check, which is slow on large data.

Judgement rules. DoWhy's own significance test compares the original estimate with the
spread of the few simulated re-estimates, which is unstable with the handful of simulations
an ML estimator can afford, so the status is judged against the estimator's standard error
and DoWhy's p-value is reported beside it:

* placebo treatment: the treatment is permuted; the estimate should be indistinguishable
  from zero (two-sided z-test at ``alpha``), or, when the caller can score permutations
  without refitting, about ``alpha`` of many permutations should be significant;
* random common cause: an independent N(0, 1) covariate is added; the estimate should move
  by less than one original standard error;
* data subset: a random ``fraction`` of rows is kept; the difference to the full-sample
  estimate is compared with its null standard deviation ``se * sqrt(1 / fraction - 1)``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DiagnosticWarning
from ..result import Diagnostic

__all__ = ["run_refuters", "run_dowhy_refuters", "EstimateFn", "RefuteEngine"]

RefuteEngine = Literal["dowhy", "native"]
_TABLE_COLUMNS = ("refuter", "new_estimate", "new_se", "expected", "p_value", "n_simulations")

#: ``fn(X, y, d, w, clusters) -> (estimate, se)``
EstimateFn = Callable[[np.ndarray, np.ndarray, np.ndarray, "np.ndarray | None", "np.ndarray | None"], tuple]


def run_refuters(
    fn: EstimateFn,
    X: np.ndarray,
    y: np.ndarray,
    d: np.ndarray,
    w: np.ndarray | None,
    clusters: np.ndarray | None,
    theta: float,
    se: float,
    seed: int,
    alpha: float = 0.05,
    fraction: float = 0.8,
    placebo_fn: Callable[[np.ndarray], tuple] | None = None,
    n_placebo: int = 50,
) -> tuple[list[Diagnostic], pd.DataFrame]:
    """Run the three refutations; return one Diagnostic each and a summary table.

    ``placebo_fn(d_permuted) -> (estimate, se)`` may replace the refit for the placebo
    treatment when the caller can score it without refitting; it is then run on
    ``n_placebo`` permutations and the check is that at most ``alpha`` plus three binomial
    standard errors of them are significant (in the table, ``p_value`` holds that share).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)); d = rng.normal(size=500); y = 2 * d + X[:, 0] + rng.normal(size=500)
    >>> def ols(X, y, d, w, c):
    ...     A = np.column_stack([np.ones(len(y)), d, X]); b, *_ = np.linalg.lstsq(A, y, rcond=None)
    ...     r = y - A @ b; cov = np.linalg.inv(A.T @ A) * (r @ r) / (len(y) - A.shape[1])
    ...     return b[1], float(np.sqrt(cov[1, 1]))
    >>> diags, table = run_refuters(ols, X, y, d, None, None, *ols(X, y, d, None, None), seed=2)
    >>> [x.status for x in diags]
    ['pass', 'pass', 'pass']
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    rows = []
    diags = []

    # placebo treatment
    if placebo_fn is None:
        perm = rng.permutation(n)
        t_p, s_p = fn(X, y, d[perm], w, clusters)
        p_p = float(2 * stats.norm.sf(abs(t_p / s_p))) if s_p > 0 else float("nan")
        ok = p_p >= alpha
        diags.append(
            Diagnostic(
                "refute_placebo_treatment",
                "pass" if ok else "warn",
                f"with a randomly permuted treatment the estimate is {t_p:.4g} (SE {s_p:.4g}, p = {p_p:.3f})"
                + ("; as expected it is indistinguishable from zero." if ok
                   else "; a placebo should give no effect: look for leakage or a misspecified model."),
                statistic=float(t_p),
                p_value=p_p,
                threshold=alpha,
                assumption="specification",
            )
        )
        rows.append(("placebo_treatment", t_p, s_p, 0.0, p_p, 1))
    else:
        # cheap placebo: many permutations, checking that the test rejects at about rate alpha
        draws = np.array([placebo_fn(d[rng.permutation(n)]) for _ in range(n_placebo)], dtype=float)
        pvals = 2 * stats.norm.sf(np.abs(draws[:, 0] / draws[:, 1]))
        share = float(np.mean(pvals < alpha))
        limit = alpha + 3 * np.sqrt(alpha * (1 - alpha) / n_placebo)
        ok = share <= limit
        diags.append(
            Diagnostic(
                "refute_placebo_treatment",
                "pass" if ok else "warn",
                f"{share:.0%} of {n_placebo} randomly permuted treatments gave a significant placebo effect at "
                f"alpha = {alpha:g} (mean placebo estimate {draws[:, 0].mean():.4g})"
                + ("; the test is calibrated under no effect." if ok
                   else f", more than the {limit:.0%} allowed: standard errors are too small "
                   "(heavy tails or clustering not declared in spec.cluster)."),
                statistic=share,
                threshold=float(limit),
                assumption="specification",
            )
        )
        rows.append(("placebo_treatment", float(draws[:, 0].mean()), float(draws[:, 1].mean()), 0.0, share, n_placebo))

    # random common cause
    Xr = np.column_stack([X, rng.normal(size=n)])
    t_r, s_r = fn(Xr, y, d, w, clusters)
    shift = abs(t_r - theta) / se if se > 0 else float("nan")
    ok = shift < 1.0
    diags.append(
        Diagnostic(
            "refute_random_common_cause",
            "pass" if ok else "warn",
            f"adding an independent random covariate moves the estimate to {t_r:.4g}, "
            f"{shift:.2f} original SEs away"
            + ("; the estimate is stable." if ok else "; the estimate is unstable to irrelevant covariates: "
               "use more folds or repetitions (n_rep)."),
            statistic=float(shift),
            threshold=1.0,
            assumption="specification",
        )
    )
    rows.append(("random_common_cause", t_r, s_r, theta, float("nan"), 1))

    # data subset
    keep = rng.random(n) < fraction
    t_s, s_s = fn(X[keep], y[keep], d[keep], None if w is None else w[keep],
                  None if clusters is None else clusters[keep])
    sd0 = se * np.sqrt(1 / fraction - 1)
    p_s = float(2 * stats.norm.sf(abs(t_s - theta) / sd0)) if sd0 > 0 else float("nan")
    ok = p_s >= alpha
    diags.append(
        Diagnostic(
            "refute_data_subset",
            "pass" if ok else "warn",
            f"on a random {fraction:.0%} subset the estimate is {t_s:.4g} (p = {p_s:.3f} for no change)"
            + ("; the estimate is stable." if ok else "; the estimate depends on a few rows: check outliers."),
            statistic=float(t_s),
            p_value=p_s,
            threshold=alpha,
            assumption="specification",
        )
    )
    rows.append(("data_subset", t_s, s_s, theta, p_s, 1))
    table = pd.DataFrame(rows, columns=list(_TABLE_COLUMNS))
    table.insert(1, "original_estimate", theta)
    return diags, table


# --------------------------------------------------------------------------- DoWhy engine
_OUTCOME, _TREATMENT, _WEIGHT, _CLUSTER = "y", "d", "_weight", "_cluster"
_REFUTERS = (  # (causal_kit name, DoWhy method name, extra refuter kwargs)
    ("placebo_treatment", "placebo_treatment_refuter", {"placebo_type": "permute"}),
    ("random_common_cause", "random_common_cause", {}),
    ("data_subset", "data_subset_refuter", {}),
)


@contextmanager
def _quiet_dowhy() -> Iterator[None]:
    """Mute DoWhy's log records and the warnings raised from its modules, for this block only.

    DoWhy logs a warning on every significance test with fewer than 100 simulations. Errors
    are not affected: exceptions propagate to the caller unchanged.
    """
    logger = logging.getLogger("dowhy")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"dowhy(\.|$)")
            yield
    finally:
        logger.setLevel(level)


def _import_dowhy() -> tuple[Any, Any]:
    """Import DoWhy's ``CausalModel`` and ``estimate_effect`` without its global side effect.

    ``dowhy.causal_model`` calls ``sympy.init_printing()`` on import, which replaces
    ``sys.displayhook`` (strings then echo without quotes in a plain console); it is restored.
    """
    import sys

    hook = sys.displayhook
    try:
        from dowhy import CausalModel
        from dowhy.causal_estimator import estimate_effect
    except ImportError as exc:  # pragma: no cover - dowhy is a declared dependency
        raise ImportError(
            "refute_engine='dowhy' needs the 'dowhy' package: pip install dowhy, or use refute_engine='native'."
        ) from exc
    finally:
        sys.displayhook = hook
    return CausalModel, estimate_effect


@lru_cache(maxsize=1)
def _estimator_class() -> type:
    """Build (once) the DoWhy ``CausalEstimator`` that delegates to an :data:`EstimateFn`.

    Defined lazily so that ``import causal_kit`` does not import DoWhy.
    """
    from dowhy.causal_estimator import CausalEstimate, CausalEstimator

    class CrossFitEstimator(CausalEstimator):
        """DoWhy estimator whose fit is the caller's ``fn(X, y, d, w, clusters)``.

        The columns are read through the identified estimand (treatment, outcome and
        adjustment set), so DoWhy's refuters can swap in a placebo treatment or add a
        common cause. ``fn`` is shared by the copies DoWhy makes for every refit
        (``get_new_estimator_object`` deep-copies the estimator; functions are not copied),
        which lets the caller record each refit's standard error.
        """

        def __init__(self, identified_estimand: Any, *, fn: EstimateFn, columns: tuple[str, ...],
                     weight_col: str | None = None, cluster_col: str | None = None, **kwargs: Any) -> None:
            super().__init__(identified_estimand, **kwargs)
            self._fn = fn
            self._column_order = columns
            self._weight_col = weight_col
            self._cluster_col = cluster_col
            self._value = float("nan")
            self._se = float("nan")
            self.symbolic_estimator = "cross-fitted double machine learning (causal_kit)"

        def adopt(self, data: pd.DataFrame, value: float, se: float) -> CrossFitEstimator:
            """Mark the estimator fitted with the caller's own full-data estimate (no refit)."""
            self.reset_encoders()
            self._set_effect_modifiers(data, [])
            self._value, self._se = float(value), float(se)
            return self

        def fit(self, data: pd.DataFrame, effect_modifier_names: list[str] | None = None,
                **_: Any) -> CrossFitEstimator:
            self.reset_encoders()
            self._set_effect_modifiers(data, effect_modifier_names)
            estimand = self._target_estimand
            adjust = set(estimand.get_adjustment_set())
            # DoWhy returns the adjustment set in set order; keep the data's column order so
            # that the refit sees the features exactly as the original fit did.
            cols = [c for c in self._column_order if c in adjust] + sorted(adjust - set(self._column_order))
            self._value, self._se = self._fn(
                data[cols].to_numpy(dtype=float),
                data[estimand.outcome_variable[0]].to_numpy(dtype=float),
                data[estimand.treatment_variable[0]].to_numpy(dtype=float),
                None if self._weight_col is None else data[self._weight_col].to_numpy(dtype=float),
                None if self._cluster_col is None else data[self._cluster_col].to_numpy(),
            )
            return self

        def estimate_effect(self, data: pd.DataFrame, treatment_value: Any = 1, control_value: Any = 0,
                            target_units: Any = None, **_: Any) -> Any:
            self._target_units = target_units
            self._treatment_value = treatment_value
            self._control_value = control_value
            estimate = CausalEstimate(
                data=data,
                treatment_name=self._target_estimand.treatment_variable,
                outcome_name=self._target_estimand.outcome_variable,
                estimate=float(self._value) * (treatment_value - control_value),
                control_value=control_value,
                treatment_value=treatment_value,
                target_estimand=self._target_estimand,
                realized_estimand_expr=self.symbolic_estimator,
                std_error=float(self._se),
            )
            estimate.add_estimator(self)
            return estimate

    return CrossFitEstimator


def run_dowhy_refuters(
    fn: EstimateFn,
    X: np.ndarray,
    y: np.ndarray,
    d: np.ndarray,
    w: np.ndarray | None,
    clusters: np.ndarray | None,
    theta: float,
    se: float,
    seed: int,
    alpha: float = 0.05,
    *,
    fraction: float = 0.8,
    n_simulations: int = 2,
    target_units: str = "ate",
) -> tuple[list[Diagnostic], pd.DataFrame]:
    """Run DoWhy's placebo, random-common-cause and data-subset refuters on ``fn``.

    A ``dowhy.CausalModel`` is built with the columns of ``X`` as common causes, the backdoor
    estimand is identified (maximal adjustment: every covariate, as the estimator adjusts for
    all of them), and the original estimate ``theta`` is registered as a ``CausalEstimate``
    whose estimator refits ``fn``. ``CausalModel.refute_estimate`` then runs
    ``placebo_treatment_refuter`` (``placebo_type="permute"``), ``random_common_cause`` and
    ``data_subset_refuter`` (keeping ``fraction`` of rows), each with ``n_simulations`` refits
    seeded from ``seed``. Each ``CausalRefutation`` becomes one :class:`Diagnostic` with
    ``statistic`` = DoWhy's new effect (mean over simulations), ``p_value`` = DoWhy's
    significance test (None with one simulation) and ``assumption="sensitivity"``.

    The status is judged on the estimator's standard error (DoWhy's test divides by the spread
    of a few simulations and is unstable): the new effect must lie within ``threshold`` of
    its expected value (0 for the placebo, ``theta`` otherwise): ``z * se_refit / sqrt(k)``
    for the placebo, one original SE for the random common cause and
    ``z * se * sqrt((1 / fraction - 1) / k)`` for the subset, with ``z`` the two-sided
    ``alpha`` quantile and ``k = n_simulations``. Outside it the status is ``"warn"``, or
    ``"fail"`` when the new effect is also beyond the ``alpha / 100`` quantile of that noise
    and DoWhy's test rejects at ``alpha``.

    If DoWhy cannot run a refuter (an exception in DoWhy or in a refit), that check is
    reported honestly instead of aborting the whole fit: its Diagnostic has status
    ``"warn"`` and names the exception, and a :class:`~causal_kit.errors.DiagnosticWarning`
    is emitted. A missing DoWhy installation raises ``ImportError`` with the fix.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); d = rng.normal(size=400); y = 2 * d + X[:, 0] + rng.normal(size=400)
    >>> def ols(X, y, d, w, c):
    ...     A = np.column_stack([np.ones(len(y)), d, X]); b, *_ = np.linalg.lstsq(A, y, rcond=None)
    ...     r = y - A @ b; cov = np.linalg.inv(A.T @ A) * (r @ r) / (len(y) - A.shape[1])
    ...     return b[1], float(np.sqrt(cov[1, 1]))
    >>> diags, table = run_dowhy_refuters(ols, X, y, d, None, None, *ols(X, y, d, None, None), seed=2)
    >>> [x.status for x in diags]
    ['pass', 'pass', 'pass']
    """
    CausalModel, estimate_effect = _import_dowhy()

    k = int(n_simulations)
    # Neutral column names: DoWhy parses names into a graph and adds 'placebo' / 'w_random'.
    xcols = tuple(f"x{j}" for j in range(X.shape[1]))
    frame = pd.DataFrame(np.asarray(X, dtype=float), columns=list(xcols))
    frame[_OUTCOME] = np.asarray(y, dtype=float)
    frame[_TREATMENT] = np.asarray(d, dtype=float)
    if w is not None:
        frame[_WEIGHT] = np.asarray(w, dtype=float)
    if clusters is not None:
        frame[_CLUSTER] = np.asarray(clusters)

    fits: list[tuple[float, float]] = []

    def recorded(Xa, ya, da, wa, ca):  # noqa: ANN001, ANN202
        t, s = fn(Xa, ya, da, wa, ca)
        fits.append((float(t), float(s)))
        return t, s

    seeds = np.random.SeedSequence(seed).generate_state(len(_REFUTERS))
    diags: list[Diagnostic] = []
    rows = []
    with _quiet_dowhy():
        model = CausalModel(data=frame, treatment=_TREATMENT, outcome=_OUTCOME, common_causes=list(xcols))
        estimand = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
        estimator = _estimator_class()(
            estimand, fn=recorded, columns=xcols,
            weight_col=_WEIGHT if w is not None else None, cluster_col=_CLUSTER if clusters is not None else None,
        ).adopt(frame, theta, se)
        # the caller's full-data fit is registered as already fitted: no refit of the original
        original = estimate_effect(frame, _TREATMENT, _OUTCOME, "backdoor", estimator,
                                   target_units=target_units, fit_estimator=False, method_params={})
    for (name, method, extra), rs in zip(_REFUTERS, seeds):
        fits.clear()
        # A RandomState object, not an int: DoWhy's data-subset refuter hands an int seed to every
        # simulation's ``DataFrame.sample`` (identical subsets); an object advances between them.
        # n_jobs=1: with worker processes each simulation would receive a copy of the same state.
        kwargs = dict(extra, num_simulations=k, random_state=np.random.RandomState(rs), n_jobs=1)
        if name == "data_subset":
            kwargs["subset_fraction"] = fraction
        try:
            with _quiet_dowhy():
                ref = model.refute_estimate(estimand, original, method_name=method, **kwargs)
        except Exception as exc:  # reported as a warn Diagnostic below, never hidden
            reason = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"DoWhy's {method} could not run ({reason}).", DiagnosticWarning, stacklevel=2)
            diags.append(Diagnostic(
                f"refute_{name}", "warn",
                f"DoWhy's {method} could not run ({reason}); rerun with refute_engine='native' "
                "or inspect the data for the cause.",
                assumption="sensitivity",
            ))
            rows.append((name, float("nan"), float("nan"), 0.0 if name == "placebo_treatment" else theta,
                         float("nan"), k))
            continue
        new = float(ref.new_effect)
        refit_se = float(np.mean([s for _, s in fits])) if fits else float("nan")
        p_raw = (ref.refutation_result or {}).get("p_value") if k > 1 else None
        p_dowhy = float(p_raw) if p_raw is not None and np.isfinite(p_raw) else None
        rejects = p_dowhy is not None and p_dowhy < alpha
        diags.append(_judge(name, new, theta, se, refit_se, p_dowhy, rejects, alpha, fraction, k))
        rows.append((name, new, refit_se, 0.0 if name == "placebo_treatment" else theta,
                     float("nan") if p_dowhy is None else p_dowhy, k))
    table = pd.DataFrame(rows, columns=list(_TABLE_COLUMNS))
    table.insert(1, "original_estimate", theta)
    return diags, table


def _judge(name: str, new: float, theta: float, se: float, refit_se: float, p: float | None, rejects: bool,
           alpha: float, fraction: float, k: int) -> Diagnostic:
    """One DoWhy refutation result -> Diagnostic (see :func:`run_dowhy_refuters`)."""
    z = float(stats.norm.ppf(1 - alpha / 2))
    z_fail = float(stats.norm.ppf(1 - alpha / 200))  # "fail" only far outside the noise: 1% of alpha
    sims = f"{k} simulation{'s' if k > 1 else ''}"
    ptxt = f"DoWhy p = {p:.3g}" if p is not None else "no DoWhy p-value with one simulation"
    if name == "placebo_treatment":
        sd = refit_se / np.sqrt(k)
        bound = z * sd
        off = abs(new)
        head = f"with a permuted treatment ({sims}) the mean placebo effect is {new:.4g} ({ptxt})"
        ok_tail = f", within the {bound:.4g} noise bound around 0: no sign of leakage."
        bad_tail = (f", beyond the {bound:.4g} noise bound around 0: a random treatment should have no effect, "
                    "so check the features for leakage of the treatment or outcome (a borderline miss can be chance: "
                    "raise refute_simulations).")
    elif name == "random_common_cause":
        sd = se
        bound = se
        off = abs(new - theta)
        head = f"adding an independent random common cause ({sims}) moves the estimate from {theta:.4g} to {new:.4g} ({ptxt})"
        ok_tail = f", less than one original SE ({se:.4g}): the estimate is stable."
        bad_tail = (f", more than one original SE ({se:.4g}): the fit is unstable to irrelevant covariates, "
                    "so use more folds or repetitions (n_rep).")
    else:
        sd = se * np.sqrt((1 / fraction - 1) / k)
        bound = z * sd
        off = abs(new - theta)
        head = f"on random {fraction:.0%} subsets ({sims}) the mean estimate is {new:.4g} against {theta:.4g} ({ptxt})"
        ok_tail = f", within the {bound:.4g} subsampling-noise bound: the estimate is stable."
        bad_tail = (f", beyond the {bound:.4g} subsampling-noise bound: the estimate depends on a few rows, "
                    "so check outliers and influential units.")
    ok = bool(off <= bound) if np.isfinite(bound) else False
    status = "pass" if ok else ("fail" if rejects and off > z_fail * sd else "warn")
    return Diagnostic(f"refute_{name}", status, head + (ok_tail if ok else bad_tail), statistic=new,
                      p_value=p, threshold=float(bound), assumption="sensitivity")
