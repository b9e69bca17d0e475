"""Double/debiased machine learning (Chernozhukov et al. 2018) for selection on observables.

:class:`DML` estimates the ATE or ATT of a binary treatment with the interactive regression
model (AIPW score) or the effect of a binary or continuous treatment with the partially
linear model (partialling-out score), using K-fold cross-fitting of machine-learning
nuisances, repeated cross-fitting with median aggregation, and cluster-robust standard
errors when ``spec.cluster`` is set. The numerical core is :mod:`._crossfit`; the result
carries overlap, balance, nuisance-fit, refutation and omitted-variable-bias diagnostics and,
on request, heterogeneous effects (CATE, BLP test, GATES, segments).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from .._data import prepare, to_pandas
from .._typing import check_fraction, check_option, check_positive_int
from ..diagnostics.refute import RefuteEngine
from ..errors import DataError, IdentificationError, SpecError
from ..inference.basic import normal_ci
from ..result import Diagnostic, EffectEstimate, make_lineage
from . import _crossfit as cf
from . import _heterogeneity as het

__all__ = ["DML", "feature_arrays"]

Model = Literal["plr", "irm"]
Estimand = Literal["ATE", "ATT"]
Cate = Literal["dr_learner", "causal_forest"]
_CATE_ROWS = 1000  # rows of the per-row CATE table kept for plots


def feature_arrays(data: Any, spec: Any, owner: str) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray,
                                                              np.ndarray | None, np.ndarray | None]:
    """Validate and read ``(prepared, X, y, d, w, clusters)`` through the spec's roles.

    Raises named errors for a missing feature list, a treatment with no variation,
    non-numeric features and NaN in the features (via :func:`causal_kit._data.prepare`).
    """
    for role in ("outcome", "treatment"):
        if getattr(spec, role) is None:
            raise SpecError(f"{owner} needs spec.{role}; add it to the spec.")
    if not spec.covariates:
        raise SpecError(f"{owner} needs the features in spec.covariates (a list of column names).")
    df = to_pandas(data)
    if spec.treatment in df.columns:
        values = df[spec.treatment].dropna()
        if values.nunique() < 2:
            raise DataError(
                f"column {spec.treatment!r} (spec.treatment) has no variation: all {len(values)} "
                f"non-missing rows equal {getattr(values.iloc[0], 'item', lambda: values.iloc[0])() if len(values) else 'nothing'!r}. "
                "An effect needs both treated and untreated (or varying) rows."
            )
    for i, col in enumerate(spec.covariates):
        if col in df.columns and not (
            pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col])
        ):
            bad = pd.to_numeric(df[col], errors="coerce").isna() & df[col].notna()
            if not bad.any():
                continue  # numbers stored as text: the shared check in prepare() names it
            raise DataError(
                f"column {col!r} (spec.covariates[{i}]) must be numeric; it has dtype {df[col].dtype} "
                f"with {int(bad.sum())} non-numeric values (e.g. {df.loc[bad, col].iloc[0]!r}). "
                "Encode it first, e.g. pd.get_dummies(data, columns=[...], dtype=float)."
            )
    prepared = prepare(df, spec)
    frame = prepared.frame
    n_params = len(spec.covariates) + 2  # intercept, treatment and one coefficient per feature
    crossfit = owner == "DML"  # each cross-fitted nuisance model sees about half the rows
    need = 2 * n_params if crossfit else n_params + 1
    if len(frame) < need:
        why = ("with cross-fitting each nuisance model sees about half the rows, so it needs at least "
               f"{need} rows (two per parameter)") if crossfit else f"it needs more rows than parameters ({need})"
        raise DataError(
            f"{owner} has {len(frame)} rows for {len(spec.covariates)} features (spec.covariates); {why}. "
            "Use more data or fewer features."
        )
    X = frame.loc[:, list(spec.covariates)].to_numpy(dtype=float)
    y = frame[spec.outcome].to_numpy(dtype=float)
    d = frame[spec.treatment].to_numpy(dtype=float)
    w = frame[spec.weights].to_numpy(dtype=float) if spec.weights else None
    if w is not None and (np.any(w < 0) or w.sum() <= 0):
        raise DataError(f"column {spec.weights!r} (spec.weights) must be non-negative with a positive sum.")
    clusters = frame[spec.cluster].to_numpy() if spec.cluster else None
    return prepared, X, y, d, w, clusters


def check_separation(frame: pd.DataFrame, features: tuple[str, ...], d: np.ndarray, estimand: str,
                     max_levels: int = 10) -> None:
    """Raise ``IdentificationError`` when a sizeable segment is all treated or all control.

    Looks at every feature with at most ``max_levels`` values; a level holding at least 1%
    of rows (and at least 5) whose rows all share one arm has propensity 0 or 1, so the
    effect there is not identified. For the ATT only all-treated segments matter.
    """
    n = len(d)
    for col in features:
        values = frame[col].to_numpy()
        if len(np.unique(values[:2000])) > max_levels:  # cheap screen for continuous features
            continue
        uniq, inv, counts = np.unique(values, return_inverse=True, return_counts=True)
        if len(uniq) > max_levels:
            continue
        treated = np.bincount(inv, weights=d, minlength=len(uniq))
        for j, level in enumerate(uniq.tolist()):
            if counts[j] < max(5, 0.01 * n):
                continue
            all_t = treated[j] == counts[j]
            all_c = treated[j] == 0
            if all_t or (all_c and estimand == "ATE"):
                arm = "treated" if all_t else "untreated"
                raise IdentificationError(
                    f"perfect separation: all {int(counts[j])} rows with {col}={level!r} (spec.covariates) "
                    f"are {arm}, so their propensity is {int(all_t)} and the {estimand} is not identified "
                    "there. Drop those rows, restrict the population, or estimate the ATT."
                )


class DML:
    """Double machine learning estimator of a treatment effect under selection on observables.

    Parameters
    ----------
    model : {"irm", "plr"}, optional
        Interactive regression model (AIPW; binary treatment) or partially linear model.
        Default: ``"irm"`` for a binary treatment, ``"plr"`` for a continuous one.
    estimand : {"ATE", "ATT"}
        Only the IRM distinguishes them; the PLR estimates a constant effect.
    n_folds : int, default 5
    n_rep : int, default 1
        Repetitions of cross-fitting with new folds; estimates are aggregated by the median
        and SEs by DoubleML's median rule.
    learner_y, learner_d : str or scikit-learn estimator, default "hgb"
        ``"hgb"`` (HistGradientBoosting: 100 trees, 31 leaves, learning rate 0.1, early
        stopping above 10,000 rows), ``"linear"`` (OLS / unpenalised logistic regression),
        ``"forest"`` or any estimator with ``fit``/``predict`` (``predict_proba`` for a
        binary treatment).
    trim : float, default 0.01
        Propensities are clipped to ``[trim, 1 - trim]``; the count is reported.
    cate : {None, "dr_learner", "causal_forest"}
        Estimate conditional effects (binary treatment), with the BLP test and GATES.
    segments : list of str
        Columns (usually features) to report average effects by level (binary treatment).
    refute : bool, default True
        Run the placebo-treatment, random-common-cause and data-subset refutations.
    refute_engine : {"dowhy", "native"}, default "dowhy"
        ``"dowhy"`` runs DoWhy's ``placebo_treatment_refuter`` (permute), ``random_common_cause``
        and ``data_subset_refuter`` with this same cross-fitted estimator plugged in as a DoWhy
        estimator (``refute_simulations`` refits each); ``"native"`` is the faster built-in
        version (one refit each, closed-form placebo). See :mod:`causal_kit.diagnostics.refute`.
    refute_simulations : int, default 1
        Simulations (full refits) per DoWhy refuter, seeded from ``seed``; one keeps the default
        fit fast (three refits), more give DoWhy's significance test a spread to work with.
    folds : array of int, optional
        Explicit fold label per row (0..K-1), for exact reproduction; overrides ``n_folds``
        and ``n_rep``.
    seed : int, optional
        Seed of folds and learners; defaults to ``spec.seed``.
    n_jobs : int, default 1
        Threads for the (nuisance, fold) fits; results do not depend on it.

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("sipp401k")
    >>> spec = ck.ExperimentSpec(name="401k", design="dml", outcome="net_tfa", treatment="e401",
    ...     covariates=["age", "inc", "educ", "fsize", "marr", "twoearn", "db", "pira", "hown"])
    >>> res = DML(model="plr", learner_y="linear", learner_d="linear", refute=False,
    ...           folds=[i % 5 for i in range(len(df))]).fit(df, spec)
    >>> round(res.estimate, 2)
    5923.36
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        estimand: str = "ATE",
        n_folds: int = 5,
        n_rep: int = 1,
        learner_y: Any = "hgb",
        learner_d: Any = "hgb",
        trim: float = 0.01,
        cate: str | None = None,
        segments: list[str] | tuple[str, ...] = (),
        refute: bool = True,
        refute_engine: str = "dowhy",
        refute_simulations: int = 1,
        folds: Any = None,
        seed: int | None = None,
        n_jobs: int = 1,
    ) -> None:
        self.model = model
        self.estimand = estimand
        self.n_folds = n_folds
        self.n_rep = n_rep
        self.learner_y = learner_y
        self.learner_d = learner_d
        self.trim = trim
        self.cate = cate
        self.segments = (segments,) if isinstance(segments, str) else tuple(segments)
        self.refute = refute
        self.refute_engine = refute_engine
        self.refute_simulations = refute_simulations
        self.folds = folds
        self.seed = seed
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ options
    def _check_options(self, n: int) -> np.ndarray | None:
        name = type(self).__name__
        if self.model is not None:
            check_option(self.model, Model, "model", name)
        check_option(self.estimand, Estimand, "estimand", name)
        check_positive_int(self.n_folds, "n_folds", name, minimum=2)
        check_positive_int(self.n_rep, "n_rep", name)
        check_fraction(self.trim, "trim", name)
        if self.trim >= 0.5:
            raise SpecError(f"The 'trim' parameter of {name} must be a float in (0, 0.5). Got {self.trim!r} instead.")
        if self.cate is not None:
            check_option(self.cate, Cate, "cate", name)
        if not isinstance(self.refute, bool):
            raise SpecError(f"The 'refute' parameter of {name} must be a bool. Got {self.refute!r} instead.")
        check_option(self.refute_engine, RefuteEngine, "refute_engine", name)
        check_positive_int(self.refute_simulations, "refute_simulations", name)
        if self.seed is not None:
            check_positive_int(self.seed, "seed", name, minimum=0)
        if self.n_jobs != -1:
            check_positive_int(self.n_jobs, "n_jobs", name)
        if self.folds is None:
            return None
        folds = np.asarray(self.folds)
        if folds.shape != (n,) or not np.issubdtype(folds.dtype, np.integer) or folds.min() < 0:
            raise SpecError(
                f"The 'folds' parameter of {name} must be an array of {n} non-negative ints (one fold "
                f"label per row). Got shape {folds.shape} and dtype {folds.dtype} instead."
            )
        _, folds = np.unique(folds, return_inverse=True)
        if folds.max() < 1:
            raise SpecError(f"The 'folds' parameter of {name} must hold at least 2 distinct labels.")
        return folds

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the effect of ``spec.treatment`` on ``spec.outcome`` given ``spec.covariates``.

        The learners' OpenMP thread pool is set for the whole fit (refuters included) from
        :func:`causal_kit.get_threads` (default: the usable cores), so the speed does not
        depend on the caller's ``OMP_NUM_THREADS``; change it with :func:`causal_kit.set_threads`.
        """
        from .._threads import learner_threads

        with learner_threads():
            return self._fit(data, spec)

    def _fit(self, data: Any, spec: Any) -> EffectEstimate:
        prepared, X, y, d, w, clusters = feature_arrays(data, spec, "DML")
        n = len(y)
        fixed_folds = self._check_options(n)
        seed = spec.seed if self.seed is None else self.seed
        binary = bool(np.isin(d, (0.0, 1.0)).all())
        model = self.model or ("irm" if binary else "plr")
        if model == "irm" and not binary:
            raise SpecError(
                f"model='irm' needs a binary 0/1 treatment; column {spec.treatment!r} (spec.treatment) has "
                f"{len(np.unique(d))} distinct values. Use model='plr' for a continuous treatment."
            )
        estimand = self.estimand if model == "irm" else "ATE"
        if binary:
            check_separation(prepared.frame, spec.covariates, d, estimand)
        for seg in self.segments:
            if seg not in prepared.frame.columns and seg not in to_pandas(data).columns:
                raise SpecError(f"segment {seg!r} (option 'segments') is not a column of the data.")
        n_folds = int(fixed_folds.max() + 1) if fixed_folds is not None else self.n_folds
        n_rep = 1 if fixed_folds is not None else self.n_rep
        ly = cf.resolve_learner(self.learner_y, False, seed, "DML", "learner_y")
        # In the PLR, E[D|X] is a regression, so "linear" means OLS (linear probability model).
        classify_d = binary and not (model == "plr" and isinstance(self.learner_d, str) and self.learner_d == "linear")
        ld = cf.resolve_learner(self.learner_d, classify_d, seed, "DML", "learner_d")
        rng = np.random.default_rng(seed)

        def one_fit(Xa, ya, da, wa, ca, folds):  # noqa: ANN001, ANN202
            need = ("l", "m") if model == "plr" else ("m", "g0", "g1") if estimand == "ATE" else ("m", "g0")
            nuis = cf.fit_nuisances(Xa, ya, da, folds, n_folds, ly, ld, binary=binary, need=need, w=wa,
                                    n_jobs=self.n_jobs)
            if model == "plr":
                psi_a, psi_b = cf.plr_score(ya, da, nuis)
            else:
                m_trim = np.clip(nuis["m"], self.trim, 1 - self.trim)
                psi_a, psi_b = cf.irm_score(ya, da, nuis, m_trim, estimand)
            return cf.solve_score(psi_a, psi_b, wa, ca), nuis

        reps = []
        for _ in range(n_rep):
            folds = fixed_folds if fixed_folds is not None else cf.make_folds(n, n_folds, rng, clusters)
            fit, nuis = one_fit(X, y, d, w, clusters, folds)
            reps.append((fit, nuis, folds))
        thetas = np.array([r[0].theta for r in reps])
        ses = np.array([r[0].se for r in reps])
        theta, se = cf.aggregate_repetitions(thetas, ses)
        ci, p = normal_ci(theta, se, spec.alpha)
        fit0, nuis, folds0 = reps[0]

        diagnostics: list[Diagnostic] = []
        tables: dict[str, pd.DataFrame] = {
            "repetitions": pd.DataFrame({"rep": np.arange(1, n_rep + 1), "estimate": thetas, "se": ses})
        }
        details: dict[str, Any] = {
            "model": model, "n_folds": n_folds, "n_rep": n_rep, "learner_y": ly.name, "learner_d": ld.name,
            "treatment_type": "binary" if binary else "continuous", "n_clusters": None if clusters is None
            else int(len(np.unique(clusters))),
        }
        if binary:
            m_raw = nuis["m"]
            details["trim"] = self.trim
            details["n_trimmed"] = int(np.sum((m_raw < self.trim) | (m_raw > 1 - self.trim)))
            over, tables["overlap"] = _overlap(m_raw, d, self.trim)
            diagnostics.append(over)
            m_t = np.clip(m_raw, self.trim, 1 - self.trim)
            bw = d / m_t + (1 - d) / (1 - m_t) if estimand == "ATE" else d + (1 - d) * m_t / (1 - m_t)
            bal, tables["balance"] = _balance(X, spec.covariates, d, bw if w is None else bw * w)
            diagnostics.append(bal)
        y_hat = nuis["l"] if model == "plr" else (
            d * nuis.get("g1", nuis["g0"]) + (1 - d) * nuis["g0"] if estimand == "ATE" else nuis["g0"]
        )
        mask = slice(None) if not (model == "irm" and estimand == "ATT") else d == 0
        dy, dd, tables["nuisance_fit"] = _quality(y[mask], y_hat[mask], d, nuis["m"], binary)
        diagnostics += [dy, dd]

        # sensitivity to an unobserved confounder (omitted-variable-bias bounds)
        sigma2, nu2 = _ovb_parts(model, estimand, y, d, nuis, self.trim, fit0)
        from ..diagnostics.sensitivity import ovb_sensitivity

        sens, tables["sensitivity"], sdet = ovb_sensitivity(theta, se, sigma2, nu2, spec.alpha)
        diagnostics.append(sens)
        details.update(sdet)

        if self.refute:
            from ..diagnostics.refute import run_dowhy_refuters, run_refuters

            def refit(Xa, ya, da, wa, ca):  # noqa: ANN001, ANN202
                folds = cf.make_folds(len(ya), n_folds, np.random.default_rng(seed + 1), ca)
                if model == "irm" and estimand == "ATE" and len(np.unique(da)) < 2:
                    return float("nan"), float("nan")
                f, _ = one_fit(Xa, ya, da, wa, ca, folds)
                return f.theta, f.se

            def placebo(d_perm):  # noqa: ANN001, ANN202
                # A permuted treatment is independent of (X, y): its nuisances are known in closed
                # form (E[D~|X] = mean D~, E[Y|D~, X] = E[Y|X]), so no learner is refitted.
                if model == "plr":
                    l_hat = nuis["l"]
                else:
                    l_hat = nuis["m"] * nuis.get("g1", nuis["g0"]) + (1 - nuis["m"]) * nuis["g0"]
                pn = {"l": l_hat, "m": np.full(n, d_perm.mean()), "g0": l_hat, "g1": l_hat}
                if model == "plr":
                    pa, pb = cf.plr_score(y, d_perm, pn)
                else:
                    pa, pb = cf.irm_score(y, d_perm, pn, pn["m"], estimand)
                f = cf.solve_score(pa, pb, w, clusters)
                return f.theta, f.se

            if self.refute_engine == "dowhy":
                rdiags, tables["refutation"] = run_dowhy_refuters(
                    refit, X, y, d, w, clusters, theta, se, seed, spec.alpha,
                    n_simulations=self.refute_simulations, target_units=estimand.lower())
            else:
                rdiags, tables["refutation"] = run_refuters(refit, X, y, d, w, clusters, theta, se, seed,
                                                            spec.alpha, placebo_fn=placebo)
            details["refute_engine"] = self.refute_engine
            diagnostics += rdiags

        if binary and (self.cate is not None or self.segments):
            diagnostics.append(self._heterogeneity(X, y, d, w, nuis, folds0, n_folds, ly, seed, spec, prepared,
                                                   data, tables, details, binary))
        elif self.cate is not None or self.segments:
            diagnostics.append(Diagnostic(
                "heterogeneity", "not_applicable",
                "CATE, BLP and segment effects need a binary treatment; this treatment is continuous.",
                assumption="other"))

        baseline = exposure = None
        if binary:
            treated = d == 1
            exposure = float(treated.sum())
            y1 = float(np.average(y[treated], weights=None if w is None else w[treated]))
            if estimand == "ATT" or model == "plr":
                baseline = y1 - theta
            else:  # ATE: the AIPW estimate of the mean untreated outcome of everyone
                m_t = np.clip(nuis["m"], self.trim, 1 - self.trim)
                baseline = float(np.mean(nuis["g0"] + (1 - d) * (y - nuis["g0"]) / (1 - m_t)))
        inference = (
            f"{'partially linear (partialling-out)' if model == 'plr' else 'AIPW (interactive regression)'} "
            f"score with {n_folds}-fold cross-fitting"
            + (f", median over {n_rep} repetitions (DoubleML's rule)" if n_rep > 1 else "")
            + "; sandwich standard error from the score"
            + (f", cluster-robust by {spec.cluster!r} with G/(G-1) correction" if clusters is not None else "")
            + "; normal confidence interval."
        )
        return EffectEstimate(
            method="dml", design=spec.design, estimand=estimand if model == "irm" else "ATE",
            estimate=theta, se=se, ci=ci, p_value=p, alpha=spec.alpha, n_obs=n,
            n_units=None if clusters is None else int(len(np.unique(clusters))),
            n_dropped=prepared.n_dropped, dropped_reasons=prepared.dropped_reasons,
            diagnostics=tuple(diagnostics), tables=tables,
            lineage=make_lineage(spec, prepared.fingerprint, seed), inference=inference,
            outcome=spec.outcome, baseline=baseline, exposure=exposure, details=details,
            label=f"DML ({model.upper()}, {estimand if model == 'irm' else 'constant effect'})",
        )

    # ------------------------------------------------------------------ heterogeneity
    def _heterogeneity(self, X, y, d, w, nuis, folds, n_folds, ly, seed, spec, prepared, data, tables,  # noqa: ANN001
                       details, binary) -> Diagnostic:  # noqa: ANN001
        need = [k for k in ("g0", "g1", "m") if k not in nuis]
        if need:  # PLR or ATT fits lack some nuisances: fit them on the same folds
            ld = cf.resolve_learner(self.learner_d, True, seed, "DML", "learner_d")
            nuis = {**nuis, **cf.fit_nuisances(X, y, d, folds, n_folds, ly, ld, binary=True, need=tuple(need), w=w)}
        m = np.clip(nuis["m"], self.trim, 1 - self.trim)
        phi = het.pseudo_outcome(y, d, nuis["g0"], nuis["g1"], m)
        if self.segments:
            frame = prepared.frame
            extra = [s for s in self.segments if s not in frame.columns]
            if extra:
                frame = pd.concat([frame, to_pandas(data).loc[frame.index, extra]], axis=1)
            tables["segments"] = het.segment_effects(phi, frame, self.segments, spec.alpha)
        if self.cate is None:
            return Diagnostic("heterogeneity", "not_applicable",
                              "no CATE model was requested; set cate='dr_learner' for the BLP heterogeneity test.",
                              assumption="other")
        ld = cf.resolve_learner(self.learner_d, True, seed, "DML", "learner_d")
        phi_h, S, half, extra = het.split_proxy(X, y, d, ly, ld, n_folds, self.trim,
                                                np.random.default_rng(seed + 2), self.cate, seed)
        details.update(extra)
        Sc = S - np.where(half == 0, S[half == 0].mean(), S[half == 1].mean())
        tables["blp"] = b = het.blp(phi_h, Sc, spec.alpha)
        tables["gates"] = het.gates(phi_h, Sc, 5, spec.alpha)
        keep = np.random.default_rng(seed).permutation(len(S))[: min(_CATE_ROWS, len(S))]
        cate_tab = pd.DataFrame(X[np.sort(keep)], columns=list(spec.covariates))
        cate_tab.insert(0, "cate", S[np.sort(keep)])
        tables["cate"] = cate_tab
        details["cate_model"] = self.cate
        details["cate_feature"] = self.segments[0] if self.segments and self.segments[0] in spec.covariates \
            else spec.covariates[0]
        b2, se2, p2 = (float(b.loc[1, c]) for c in ("estimate", "se", "p_value"))
        found = p2 < spec.alpha and b2 > 0
        return Diagnostic(
            "heterogeneity", "pass",
            "best-linear-predictor test (honest two-half split): the CATE proxy's loading is {b2:.3f} (SE {se2:.3f}, p = {p2:.3g}); "
            + ("effects vary with the features: read GATES and segments before acting on the average."
               if found else "no detectable effect heterogeneity: the average effect is a fair summary."),
            statistic=b2, p_value=p2, threshold=spec.alpha, assumption="other",
        )


def _overlap(m, d, trim):  # noqa: ANN001, ANN202
    from ..diagnostics.overlap import propensity_overlap

    return propensity_overlap(m, d, trim)


def _balance(X, names, d, weights):  # noqa: ANN001, ANN202
    from ..diagnostics.overlap import weighted_balance

    return weighted_balance(X, list(names), d, weights, label="inverse-propensity weighting")


def _quality(y, y_hat, d, m, binary):  # noqa: ANN001, ANN202
    from ..diagnostics.overlap import nuisance_quality

    return nuisance_quality(y, y_hat, d, m, binary)


def _ovb_parts(model, estimand, y, d, nuis, trim, fit) -> tuple[float, float]:  # noqa: ANN001
    """Residual outcome variance and mean squared Riesz representer for the OVB bounds."""
    if model == "plr":
        v = d - nuis["m"]
        u = y - nuis["l"]
        return float(np.mean((u - fit.theta * v) ** 2)), float(1.0 / np.mean(v**2))
    m = np.clip(nuis["m"], trim, 1 - trim)
    if estimand == "ATE":
        g = d * nuis["g1"] + (1 - d) * nuis["g0"]
        alpha = d / m - (1 - d) / (1 - m)
        return float(np.mean((y - g) ** 2)), float(np.mean(alpha**2))
    p = d.mean()
    res0 = (1 - d) * (y - nuis["g0"]) ** 2
    alpha = d / p - m * (1 - d) / (p * (1 - m))
    return float(np.sum(res0) / max(np.sum(1 - d), 1)), float(np.mean(alpha**2))
