"""Instrumental variables: 2SLS, LIML and GMM with weak-instrument diagnostics and AR sets.

linearmodels (``IV2SLS``, ``IVLIML``, ``IVGMM``) is the estimator of record. Diagnostics
(first-stage F, Kleibergen-Paap, Montiel Olea-Pflueger effective F, partial R², Sargan /
Basmann / score over-identification tests, Wu-Hausman / Durbin) come from
:mod:`causal_kit.diagnostics.weak_iv`, which works on cross-products after partialling out
the exogenous regressors, and the Anderson-Rubin set from
:mod:`causal_kit.inference.anderson_rubin`. On large data (``engine="auto"`` above
50,000 rows) the 2SLS / LIML headline is computed by the same numpy k-class code, which
reproduces linearmodels' covariance conventions (the tests check that both agree), because
linearmodels' own fit is then several times slower than the rest of the analysis.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._data import prepare
from .._typing import IVEngine, IVMethod, IVVcov, check_fraction, check_option
from ..diagnostics.weak_iv import (
    Partialled,
    cragg_donald_f,
    endogeneity_tests,
    first_stage,
    iv_diagnostics,
    kclass,
    kleibergen_paap,
    liml_kappa,
    overid_tests,
    partial_out,
)
from ..errors import ConvergenceError, DataError, IdentificationError, SpecError
from ..inference.anderson_rubin import anderson_rubin, ar_statistic
from ..result import EffectEstimate, make_lineage

__all__ = ["IV"]

_NUMPY_ROWS = 50_000


class IV:
    """Linear instrumental-variables regression (2SLS, LIML or efficient GMM).

    Parameters
    ----------
    method : {"2sls", "liml", "gmm"}
        Estimator. GMM is the two-step efficient GMM of linearmodels' ``IVGMM``.
    vcov : {"unadjusted", "robust", "cluster"}, optional
        Covariance. Default: ``"cluster"`` when ``spec.cluster`` is set, else ``"robust"``
        (HC0).
    debiased : bool
        Small-sample correction: ``n - k`` divisor (and ``G / (G - 1)`` with clusters) and
        t critical values. False (default) divides by ``n`` and uses normal critical values,
        as linearmodels and Stata ``ivregress`` do.
    absorb : str or list of str, optional
        Fixed-effect column(s) to absorb by (weighted) within-group demeaning; their levels
        count as regressors in every degrees-of-freedom correction.
    ar_grid : dict, optional
        Search grid of the robust Anderson-Rubin set with several instruments:
        ``{"n_points": 2001, "width": 50}`` (width in Wald standard errors).
    engine : {"auto", "linearmodels", "numpy"}
        Who computes the headline: ``"auto"`` uses linearmodels up to 50,000 rows (always
        for GMM) and the equivalent numpy k-class code above.
    tau : float
        Worst-case relative bias tolerated by the effective-F test (default 0.1).
    n_bins : int
        Bins of the first-stage and reduced-form binned scatter plots.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="card", design="iv", outcome="lwage", endogenous=["educ"],
    ...     instruments=["nearc4"], covariates=["exper", "expersq", "black", "smsa", "south",
    ...     "smsa66"] + [f"reg66{i}" for i in range(2, 10)])
    >>> res = ck.estimate(ck.datasets.load("card"), spec, vcov="unadjusted")
    >>> round(res.estimate, 6), round(res.se, 6)
    (0.131504, 0.054817)
    """

    def __init__(
        self,
        *,
        method: str = "2sls",
        vcov: str | None = None,
        debiased: bool = False,
        absorb: str | list[str] | None = None,
        ar_grid: dict[str, Any] | None = None,
        engine: str = "auto",
        tau: float = 0.1,
        n_bins: int = 20,
    ) -> None:
        self.method = method
        self.vcov = vcov
        self.debiased = debiased
        self.absorb = absorb
        self.ar_grid = ar_grid
        self.engine = engine
        self.tau = tau
        self.n_bins = n_bins

    # ------------------------------------------------------------------ options and roles
    def _options(self, spec: Any) -> dict[str, Any]:
        check_option(self.method, IVMethod, "method", "IV")
        vcov = self.vcov if self.vcov is not None else ("cluster" if spec.cluster else "robust")
        check_option(vcov, IVVcov, "vcov", "IV")
        check_option(self.engine, IVEngine, "engine", "IV")
        if not isinstance(self.debiased, bool):
            raise SpecError(f"The 'debiased' parameter of IV must be a bool. Got {self.debiased!r} instead.")
        check_fraction(self.tau, "tau", "IV")
        if isinstance(self.n_bins, bool) or not isinstance(self.n_bins, int) or self.n_bins < 2:
            raise SpecError(f"The 'n_bins' parameter of IV must be an int >= 2. Got {self.n_bins!r} instead.")
        if vcov == "cluster" and spec.cluster is None:
            raise SpecError("vcov='cluster' needs spec.cluster: name the cluster column or use vcov='robust'.")
        absorb = [self.absorb] if isinstance(self.absorb, str) else list(self.absorb or [])
        if not all(isinstance(a, str) for a in absorb):
            raise SpecError(f"The 'absorb' parameter of IV must be a column name or a list of names. Got {self.absorb!r} instead.")
        grid = dict(self.ar_grid or {})
        unknown = set(grid) - {"n_points", "width"}
        if unknown:
            raise SpecError(f"The 'ar_grid' parameter of IV accepts keys 'n_points' and 'width'. Got {sorted(unknown)} instead.")
        n_points, width = grid.get("n_points", 2001), grid.get("width", 50.0)
        if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 11:
            raise SpecError(f"The 'ar_grid' parameter of IV needs n_points an int >= 11. Got {n_points!r} instead.")
        if not isinstance(width, (int, float)) or not width > 0:
            raise SpecError(f"The 'ar_grid' parameter of IV needs width > 0. Got {width!r} instead.")
        return {"vcov": vcov, "absorb": absorb, "n_points": n_points, "width": float(width)}

    @staticmethod
    def _roles(spec: Any) -> tuple[str, list[str], list[str], list[str]]:
        if spec.outcome is None:
            raise SpecError("the IV estimator needs spec.outcome: name the outcome column.")
        endog = list(spec.endogenous) or ([spec.treatment] if spec.treatment else [])
        instr, cov = list(spec.instruments), list(spec.covariates)
        if not endog:
            raise SpecError("the IV estimator needs spec.endogenous (or spec.treatment): name the endogenous regressor.")
        if not instr:
            raise SpecError("the IV estimator needs spec.instruments: name at least one excluded instrument.")
        for name, group, where in [(c, cov, "covariates") for c in instr] + [(c, cov + instr, "covariates/instruments") for c in endog]:
            if name in group:
                role = "instruments" if where == "covariates" else "endogenous"
                raise SpecError(
                    f"column {name!r} is both in spec.{role} and spec.{where}; an excluded instrument "
                    "cannot also be a covariate (or regressor). Remove it from one of the lists."
                )
        if spec.outcome in endog + instr + cov:
            raise SpecError(f"the outcome {spec.outcome!r} (spec.outcome) is also listed as a regressor or instrument.")
        if len(instr) < len(endog):
            raise IdentificationError(
                f"the model is under-identified: {len(endog)} endogenous regressors ({', '.join(endog)}) but only "
                f"{len(instr)} excluded instrument(s) ({', '.join(instr)}). Add instruments (spec.instruments) "
                "or treat fewer regressors as endogenous."
            )
        return spec.outcome, endog, instr, cov

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the IV coefficient of the first endogenous regressor (``spec.treatment`` if given).

        Returns an :class:`~causal_kit.result.EffectEstimate` whose ``tables`` hold all
        coefficients, the first stage, the reduced form, the strength statistics, the tests,
        the Anderson-Rubin set and curve, binned scatters and (binary instrument and
        treatment) the compliance decomposition.
        """
        opts = self._options(spec)
        outcome, endog, instr, cov = self._roles(spec)
        absorb = opts["absorb"]
        prepared = prepare(data, spec, columns=[outcome, *endog, *instr, *cov, *absorb])
        frame = prepared.frame
        n = len(frame)
        for col in absorb:
            bad = frame[col].isna()
            if bad.any():
                raise DataError(f"column {col!r} (option absorb) has {int(bad.sum())} missing values. Fill them, or set na_action: drop.")
        y = _numeric_column(frame, outcome, "outcome")
        X = np.column_stack([_numeric_column(frame, c, f"endogenous[{i}]") for i, c in enumerate(endog)])
        Z = np.column_stack([_numeric_column(frame, c, f"instruments[{i}]") for i, c in enumerate(instr)])
        C = (np.column_stack([_numeric_column(frame, c, f"covariates[{i}]") for i, c in enumerate(cov)])
             if cov else np.empty((n, 0)))
        for i, c in enumerate(instr):
            if np.ptp(Z[:, i]) == 0:
                raise DataError(
                    f"column {c!r} (spec.instruments[{i}]) is constant (every value is {Z[0, i]:g}); a constant "
                    "instrument carries no variation. Remove it or use a varying instrument."
                )
        w = None
        if spec.weights is not None:
            w = _numeric_column(frame, spec.weights, "weights")
            if (w <= 0).any():
                raise DataError(f"column {spec.weights!r} (spec.weights) has {int((w <= 0).sum())} non-positive weights; weights must be > 0.")
        clusters = None
        if opts["vcov"] == "cluster":
            clusters = pd.factorize(frame[spec.cluster])[0].astype(np.int64)
            if clusters.max() < 1:
                raise DataError(f"column {spec.cluster!r} (spec.cluster) has a single cluster; cluster-robust SEs need at least two.")

        raw = {"y": y, "x0": X[:, 0], "z0": Z[:, 0]}
        X_orig, Z_orig = X, Z
        fe_dof = 0
        if absorb:
            codes = [pd.factorize(frame[a])[0] for a in absorb]
            block, fe_dof = _demean(np.column_stack([y, X, Z, C]), codes, w)
            y, X, Z, C = (block[:, 0], block[:, 1 : 1 + len(endog)],
                          block[:, 1 + len(endog) : 1 + len(endog) + len(instr)], block[:, 1 + len(endog) + len(instr) :])
            exog = C
        else:
            exog = np.column_stack([np.ones(n), C])
        exog_names = cov if absorb else ["const", *cov]
        sw = np.sqrt(w / w.mean()) if w is not None else None

        def _w(a: np.ndarray) -> np.ndarray:
            return a * (sw[:, None] if a.ndim == 2 else sw) if sw is not None else a

        ew = _w(exog)
        _check_collinear(ew, exog_names, "covariates", None)
        k_exog = ew.shape[1] + fe_dof
        if n - k_exog - len(instr) <= 0:
            raise IdentificationError(f"{n} rows cannot fit {k_exog} exogenous columns and {len(instr)} instruments; add data or drop covariates.")
        stacked = partial_out(np.column_stack([_w(y), _w(X), _w(Z)]), ew if ew.shape[1] else None)
        p, q = len(endog), len(instr)
        yt, Xt, Zt = stacked[:, 0], stacked[:, 1 : 1 + p], stacked[:, 1 + p :]
        _check_collinear(Zt, instr, "instruments", _w(Z_orig))
        _check_collinear(Xt, endog, "endogenous", _w(X_orig))
        xpzx = Xt.T @ Zt @ np.linalg.solve(Zt.T @ Zt, Zt.T @ Xt)
        ratio = np.linalg.eigvalsh(xpzx / np.sqrt(np.outer(np.diag(Xt.T @ Xt), np.diag(Xt.T @ Xt)))).min()
        if ratio <= 1e-12:
            raise IdentificationError(
                "the rank condition fails: the instruments do not move the endogenous regressors "
                f"({', '.join(endog)}) independently (the first-stage fitted values are collinear). "
                "Add instruments that shift each endogenous regressor."
            )
        d = Partialled(y=yt, x=Xt, z=Zt, k_exog=k_exog, clusters=clusters)

        engine = self.engine
        if engine == "auto":
            engine = "linearmodels" if (self.method == "gmm" or n <= _NUMPY_ROWS) else "numpy"
        if engine == "numpy" and self.method == "gmm":
            raise SpecError("The 'engine' parameter of IV must be 'linearmodels' or 'auto' for method='gmm'. Got 'numpy' instead.")
        vcov, debiased = opts["vcov"], self.debiased
        kappa = liml_kappa(d) if self.method == "liml" else 1.0
        j_stat = None
        if engine == "linearmodels":
            coef_table, params, cov_m, kappa_lm, j_stat = _fit_linearmodels(
                self.method, y, X, Z, exog, exog_names, endog, instr, w, vcov, debiased, clusters, fe_dof)
            kappa = kappa_lm if kappa_lm is not None else kappa
        else:
            fit_np = kclass(d, kappa=kappa, vcov=vcov, debiased=debiased)
            params, cov_m = fit_np.params, fit_np.cov
            coef_table = pd.DataFrame({"variable": endog, "coef": params, "se": np.sqrt(np.diag(cov_m))})
        df_resid = n - p - k_exog
        head = endog.index(spec.treatment) if spec.treatment in endog else 0
        est, se = float(params[head]), float(math.sqrt(cov_m[head, head]))
        dist = stats.t(df_resid) if debiased else stats.norm
        crit = float(dist.ppf(1 - spec.alpha / 2))
        ci = (est - crit * se, est + crit * se)
        p_value = float(2 * dist.sf(abs(est / se)))
        if "t" not in coef_table:
            coef_table["t"] = coef_table["coef"] / coef_table["se"]
            coef_table["p_value"] = 2 * dist.sf(np.abs(coef_table["t"]))
            coef_table["ci_low"] = coef_table["coef"] - crit * coef_table["se"]
            coef_table["ci_high"] = coef_table["coef"] + crit * coef_table["se"]
        resid = d.y - d.x @ np.asarray(params[:p])

        # -------------------------------------------------------------- diagnostics
        for j in range(p):  # a perfect first stage: the "instrument" is the regressor itself
            if float(d.v[:, j] @ d.v[:, j]) <= 1e-20 * max(float(d.x[:, j] @ d.x[:, j]), 1e-300):
                raise DataError(
                    f"column {endog[j]!r} (spec.endogenous) is an exact linear function of the instruments "
                    f"{list(instr)} (spec.instruments) and covariates: the first stage leaves no residual. An "
                    "instrument identical to the endogenous variable identifies nothing beyond OLS; use a "
                    "variable that shifts the treatment without being it."
                )
        fs_coef, fs_sum = first_stage(d, tau=self.tau)
        fs_coef.insert(0, "endogenous", [endog[j] for j in fs_coef["endogenous_index"]])
        fs_coef.insert(1, "instrument", [instr[i] for i in fs_coef["instrument_index"]])
        fs_coef = fs_coef.drop(columns=["endogenous_index", "instrument_index"])
        fs_sum.insert(0, "endogenous", endog)
        cd_f = cragg_donald_f(d) if p > 1 else float(fs_sum.loc[0, "f_stat"])
        kp_rk, kp_df, kp_joint = kleibergen_paap(d)
        rf_gamma = d.zz_inv @ d.block("z", "y")[:, 0]
        rf_resid = d.y - d.z @ rf_gamma
        reduced = pd.DataFrame({"instrument": instr, "coef": rf_gamma,
                                "se": _ols_se(d, rf_resid, vcov, debiased)})
        over = overid_tests(d, resid, vcov=vcov)
        endo = endogeneity_tests(d, vcov=vcov)
        ar = None
        if p == 1:
            ar = anderson_rubin(d, alpha=spec.alpha, robust=vcov != "unadjusted", center=est, scale=se,
                                n_points=opts["n_points"], width=opts["width"])
        robust_fs = vcov != "unadjusted"
        diags, verdict_text = iv_diagnostics(fs_sum, cd_f, kp_joint, p, q, over, endo, ar, robust_fs, j_stat, self.method, est, ci, spec.alpha)

        tables: dict[str, pd.DataFrame] = {
            "coefficients": coef_table.reset_index(drop=True),
            "first_stage": fs_coef,
            "first_stage_summary": fs_sum,
            "reduced_form": reduced,
            "tests": _tests_table(over, endo, j_stat),
        }
        if ar is not None:
            tables["ar_set"] = ar.table()
            tables["ar_curve"] = _ar_curve(d, ar, est, se, robust_fs)
        tables.update(_binned_tables(raw, yt, Xt[:, 0], Zt[:, 0], w, self.n_bins, outcome, endog[0], instr[0]))
        comp = None
        if p == 1 and q == 1:
            comp = _compliance(frame[endog[0]].to_numpy(), frame[instr[0]].to_numpy(), raw["y"], d, rf_gamma[0], reduced["se"].iloc[0], vcov, debiased)
            if comp is not None:
                tables["compliance"] = comp["table"]
        divisor = "n - k" if debiased else "n"
        label = {"2sls": "2SLS", "liml": "LIML", "gmm": "GMM"}[self.method]
        vc_words = {"unadjusted": "homoskedastic", "robust": "heteroskedasticity-robust (HC0)", "cluster": "cluster-robust"}[vcov]
        inference = (
            f"{label} via {'linearmodels' if engine == 'linearmodels' else 'numpy (linearmodels conventions)'}; "
            f"{vc_words} standard errors with the {divisor} divisor"
            + (" and G/(G-1) cluster correction" if vcov == "cluster" and debiased else "")
            + f"; {'t' if debiased else 'normal'} critical values."
            + (f" Weak-instrument-robust Anderson-Rubin set ({ar.kind}): {ar.set_type}." if ar is not None else "")
        )
        details: dict[str, Any] = {
            "method": self.method, "engine": engine, "vcov": vcov, "debiased": debiased, "se_divisor": divisor,
            "endogenous": endog, "instruments": instr, "covariates": cov, "absorb": absorb, "fe_dof": fe_dof,
            "k_exog": k_exog, "n_instruments": q, "n_endogenous": p, "kappa": kappa,
            "first_stage_f": float(fs_sum.loc[0, "f_stat"]), "first_stage_f_n": float(fs_sum.loc[0, "f_stat_n"]),
            "first_stage_df": [q, n - q - k_exog], "partial_r2": float(fs_sum.loc[0, "partial_r2"]),
            "robust_f": float(fs_sum.loc[0, "robust_f"]), "kp_f": kp_joint, "kp_rk": kp_rk, "kp_rk_df": kp_df,
            "kp_rk_pvalue": float(stats.chi2.sf(kp_rk, kp_df)),
            "effective_f": float(fs_sum.loc[0, "effective_f"]), "effective_f_crit": float(fs_sum.loc[0, "effective_f_crit"]),
            "cragg_donald_f": cd_f, "first_stage_coef": float(fs_coef.loc[0, "coef"]),
            "reduced_form_coef": float(rf_gamma[0]),
            "sargan": over["sargan"], "basmann": over["basmann"], "overid_score": over["score"],
            "wu_hausman": endo["wu_hausman"], "wu_hausman_pvalue": endo["wu_hausman_pvalue"],
            "durbin": endo["durbin"], "durbin_pvalue": endo["durbin_pvalue"],
            "ols_estimate": endo["ols"][head], "ols_se": endo["ols_se"][head],
            "weak_iv_verdict": verdict_text,
        }
        if j_stat is not None:
            details["hansen_j"], details["hansen_j_pvalue"] = j_stat
        if ar is not None:
            details.update(ar_set_type=ar.set_type, ar_kind=ar.kind, ar_lower=ar.hull()[0], ar_upper=ar.hull()[1],
                           ar_intervals=[list(iv) for iv in ar.intervals], ar_p_value_zero=ar.p_value_zero)
        baseline = exposure = None
        estimand = "IV coefficient"
        if comp is not None:
            estimand = "LATE"
            details.update(comp["details"])
            baseline, exposure = comp["details"].get("complier_control_mean"), comp["details"]["induced_compliers"]
        return EffectEstimate(
            method="iv", design=spec.design, estimand=estimand, estimate=est, se=se, ci=ci, p_value=p_value,
            alpha=spec.alpha, n_obs=n, n_units=n if clusters is None else int(clusters.max()) + 1,
            n_dropped=prepared.n_dropped, dropped_reasons=prepared.dropped_reasons, diagnostics=diags,
            tables=tables, lineage=make_lineage(spec, prepared.fingerprint, spec.seed), inference=inference,
            df_resid=float(df_resid) if debiased else None, outcome=outcome, baseline=baseline,
            exposure=exposure, details=details, label=f"IV ({label}): {endog[head]} instrumented by {', '.join(instr)}",
        )


def _ols_se(d: Partialled, resid: np.ndarray, vcov: str, debiased: bool) -> np.ndarray:
    """SEs of the coefficients of an OLS of a partialled variable on the instruments."""
    from ..diagnostics.weak_iv import cluster_meat

    n, k = d.n, d.q + d.k_exog
    scale = n / (n - k) if debiased else 1.0
    if vcov == "unadjusted":
        return np.sqrt(np.diag(d.zz_inv) * scale * float(resid @ resid) / n)
    if vcov == "cluster" and debiased:
        g = d.n_clusters or 2
        scale *= g / (g - 1) * (n - 1) / n
    meat = cluster_meat(d.z * resid[:, None], d.clusters)
    return np.sqrt(np.diag(scale * d.zz_inv @ meat @ d.zz_inv))


def _fit_linearmodels(method, y, X, Z, exog, exog_names, endog, instr, w, vcov, debiased, clusters, fe_dof):
    """Fit with linearmodels; returns (table, endogenous params, their covariance, kappa, J)."""
    from linearmodels.iv import IV2SLS, IVGMM, IVLIML

    dep = pd.Series(y, name="y")
    ex = pd.DataFrame(exog, columns=exog_names) if exog.shape[1] else None
    en = pd.DataFrame(X, columns=endog)
    ins = pd.DataFrame(Z, columns=instr)
    cov_type = {"unadjusted": "unadjusted", "robust": "robust", "cluster": "clustered"}[vcov]
    cov_cfg: dict[str, Any] = {"extra_df": fe_dof} if fe_dof else {}
    if clusters is not None:
        cov_cfg["clusters"] = clusters
    kw = {"weights": w} if w is not None else {}
    try:
        if method == "gmm":
            wcfg = {"clusters": clusters} if clusters is not None else {}
            model = IVGMM(dep, ex, en, ins, weight_type=cov_type, **wcfg, **kw)
        else:
            model = (IVLIML if method == "liml" else IV2SLS)(dep, ex, en, ins, **kw)
        res = model.fit(cov_type=cov_type, debiased=debiased, **cov_cfg)
    except np.linalg.LinAlgError as exc:  # pragma: no cover - collinearity is caught before
        raise ConvergenceError(f"linearmodels could not fit the {method} model: {exc}") from None
    ci = res.conf_int()
    table = pd.DataFrame({
        "variable": list(res.params.index), "coef": res.params.to_numpy(), "se": res.std_errors.to_numpy(),
        "t": res.tstats.to_numpy(), "p_value": res.pvalues.to_numpy(),
        "ci_low": ci.iloc[:, 0].to_numpy(), "ci_high": ci.iloc[:, 1].to_numpy(),
    })
    params = res.params[endog].to_numpy()
    cov_m = res.cov.loc[endog, endog].to_numpy()
    kappa = float(res.kappa) if method == "liml" else None
    j = (float(res.j_stat.stat), float(res.j_stat.pval)) if method == "gmm" and len(instr) > len(endog) else None
    return table, params, cov_m, kappa, j


def _tests_table(over: dict, endo: dict, j_stat: tuple[float, float] | None) -> pd.DataFrame:
    rows = [
        ("sargan", over["sargan"], over["df"], over["sargan_pvalue"], "chi2"),
        ("basmann", over["basmann"], over["df"], over["basmann_pvalue"], "chi2"),
        ("overid_score_robust", over["score"], over["df"], over["score_pvalue"], "chi2"),
        ("wu_hausman", endo["wu_hausman"], endo["df"], endo["wu_hausman_pvalue"], "F"),
        ("durbin", endo["durbin"], endo["df"], endo["durbin_pvalue"], "chi2"),
        ("endogeneity_robust", endo["robust"], endo["df"], endo["robust_pvalue"], "chi2"),
    ]
    if j_stat is not None:
        rows.append(("hansen_j", j_stat[0], over["df"], j_stat[1], "chi2"))
    return pd.DataFrame(rows, columns=["test", "statistic", "df", "p_value", "distribution"])


def _ar_curve(d: Partialled, ar: Any, est: float, se: float, robust: bool) -> pd.DataFrame:
    """The AR statistic on a plotting grid that covers the set's finite ends."""
    finite = [v for iv in ar.intervals for v in iv if math.isfinite(v)] + [est]
    lo, hi = min(finite), max(finite)
    span = max(hi - lo, 8 * se, 1e-8)
    grid = np.linspace(lo - 0.5 * span, hi + 0.5 * span, 401)
    stat = ar_statistic(d, grid, robust=robust)
    return pd.DataFrame({"beta": grid, "statistic": stat, "critical_value": ar.critical_value,
                         "in_set": stat <= ar.critical_value})


# ---------------------------------------------------------------------- data preparation
def _numeric_column(frame: pd.DataFrame, col: str, role: str) -> np.ndarray:
    """A role column as a float array; ``DataError`` naming the column when it is not numeric."""
    series = frame[col]
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float)
    bad = pd.to_numeric(series, errors="coerce").isna() & series.notna()
    raise DataError(
        f"column {col!r} (spec.{role}) must be numeric; it has {int(bad.sum())} non-numeric values "
        f"(e.g. {series[bad].iloc[0]!r}). Convert it with pd.to_numeric or encode it first."
    )


def _check_collinear(a: np.ndarray, names: list[str], role: str, original: np.ndarray | None) -> None:
    """Raise ``DataError`` naming the first column of ``a`` that the previous ones (or the covariates) explain.

    ``original`` holds the columns before partialling out the covariates: a column whose
    partialled norm is negligible against it is explained by the covariates.
    """
    if a.shape[1] == 0:
        return
    norms = np.sqrt((a * a).sum(axis=0))
    if original is not None:
        base = np.sqrt((original * original).sum(axis=0))
        for j, name in enumerate(names[: a.shape[1]]):
            if norms[j] <= 1e-8 * max(base[j], 1e-300):
                raise DataError(
                    f"column {name!r} (spec.{role}) is a linear combination of the covariates or absorbed fixed effects (or equal to one); "
                    "it must vary beyond the covariates. Remove it or the covariate it duplicates."
                )
    gram = a.T @ a
    scale = np.sqrt(np.clip(np.diag(gram), 1e-300, None))
    corr = gram / np.outer(scale, scale)
    for j in range(corr.shape[0]):
        if j == 0:
            resid = corr[0, 0]
        else:
            prev = corr[:j, :j]
            resid = corr[j, j] - corr[j, :j] @ np.linalg.lstsq(prev, corr[:j, j], rcond=None)[0]
        if resid <= 1e-10 or norms[j] == 0:
            which = names[j]
            what = f"spec.{role}"
            detail = "is perfectly collinear with the columns listed before it (or with the constant)"
            raise DataError(
                f"column {which!r} ({what}) {detail}: the design matrix is rank deficient. "
                "Drop the redundant column."
            )


def _demean(block: np.ndarray, codes: list[np.ndarray], w: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Absorb fixed effects by (weighted) within-group demeaning; alternating projections for several.

    Returns the demeaned block and the number of absorbed levels (sum of levels minus the
    redundant constants, ignoring further redundancies between nested effects).
    """
    wt = np.ones(block.shape[0]) if w is None else w
    out = block.copy()
    counts = [np.bincount(c, weights=wt) for c in codes]

    def sweep(arr: np.ndarray) -> float:
        change = 0.0
        for c, cnt in zip(codes, counts):
            for j in range(arr.shape[1]):
                means = np.bincount(c, weights=arr[:, j] * wt, minlength=len(cnt)) / cnt
                arr[:, j] -= means[c]
                change = max(change, float(np.abs(means).max()))
        return change

    scale = max(float(np.abs(block).max()), 1.0)
    sweep(out)
    if len(codes) > 1:
        for _ in range(1000):
            if sweep(out) <= 1e-11 * scale:
                break
        else:
            raise ConvergenceError("absorbing several fixed effects did not converge in 1,000 sweeps; absorb fewer columns.")
    levels = sum(int(c.max()) + 1 for c in codes) - (len(codes) - 1)
    return out, levels


def _binned_tables(raw: dict, yt: np.ndarray, xt: np.ndarray, zt: np.ndarray, w: np.ndarray | None,
                  n_bins: int, outcome: str, endog: str, instr: str) -> dict[str, pd.DataFrame]:
    """Binned scatters of the first stage and reduced form (residualised on the covariates, means added back)."""
    wt = np.ones(len(yt)) if w is None else w
    zm = np.average(raw["z0"], weights=wt)
    z_plot = zt / (np.sqrt(w / w.mean()) if w is not None else 1.0) + zm
    # quantile edges; a discrete instrument simply gets fewer (non-empty) bins
    edges = np.unique(np.quantile(z_plot, np.linspace(0, 1, n_bins + 1)[1:-1]))
    bins = np.searchsorted(edges, z_plot, side="right")
    nb = int(bins.max()) + 1
    cnt = np.bincount(bins, weights=wt, minlength=nb)
    keep = cnt > 0
    rows = []
    for panel, target, name in (("first_stage", xt, endog), ("reduced_form", yt, outcome)):
        key = "x0" if panel == "first_stage" else "y"
        t_plot = target / (np.sqrt(w / w.mean()) if w is not None else 1.0) + np.average(raw[key], weights=wt)
        zc = zt
        slope = float(zc @ target / (zc @ zc))
        xb = np.bincount(bins, weights=z_plot * wt, minlength=nb)[keep] / cnt[keep]
        yb = np.bincount(bins, weights=t_plot * wt, minlength=nb)[keep] / cnt[keep]
        fit = np.average(t_plot, weights=wt) + slope * (xb - np.average(z_plot, weights=wt))
        rows.append(pd.DataFrame({"panel": panel, "variable": name, "instrument": instr, "z": xb,
                                  "mean": yb, "fit": fit, "n": np.bincount(bins, minlength=nb)[keep],
                                  "slope": slope}))
    return {"binned": pd.concat(rows, ignore_index=True)}


def _compliance(d_raw: np.ndarray, z_raw: np.ndarray, y_raw: np.ndarray, d: Partialled, itt: float,
               itt_se: float, vcov: str, debiased: bool) -> dict[str, Any] | None:
    """LATE, complier share and intent-to-treat effect for a binary instrument and binary treatment."""
    d_raw, z_raw = np.asarray(d_raw, dtype=float), np.asarray(z_raw, dtype=float)
    if not (np.all((d_raw == 0) | (d_raw == 1)) and np.all((z_raw == 0) | (z_raw == 1))):
        return None
    share = float(d.pi[0, 0])
    vs = _ols_se(d, d.v[:, 0], vcov, debiased)[0]
    z1, z0 = z_raw == 1, z_raw == 0
    never = float(np.mean(d_raw[z1] == 0))
    always = float(np.mean(d_raw[z0] == 1))
    # Complier mean outcome without treatment (Imbens-Rubin): from the untreated in each arm.
    denom = float(np.mean(1 - d_raw[z1]) - np.mean(1 - d_raw[z0]))
    y0c = float((np.mean(y_raw[z1] * (1 - d_raw[z1])) - np.mean(y_raw[z0] * (1 - d_raw[z0]))) / denom) if denom else math.nan
    late = itt / share if share else math.nan
    table = pd.DataFrame({
        "quantity": ["intent_to_treat", "complier_share", "late", "always_taker_share", "never_taker_share"],
        "estimate": [itt, share, late, always, never],
        "se": [itt_se, vs, math.nan, math.nan, math.nan],
        "note": ["reduced-form coefficient of the instrument", "first-stage coefficient (covariate-adjusted)",
                 "intent-to-treat / complier share", "share treated without the instrument (raw)",
                 "share untreated with the instrument (raw)"],
    })
    details = {"intent_to_treat": itt, "intent_to_treat_se": itt_se, "complier_share": share,
               "complier_share_se": float(vs), "always_taker_share": always, "never_taker_share": never,
               "complier_control_mean": y0c if math.isfinite(y0c) else None,
               "induced_compliers": share * int(z1.sum())}
    return {"table": table, "details": details}
