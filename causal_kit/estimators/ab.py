"""A/B test analysis: difference in means, CUPED, Lin regression adjustment, ratio metrics.

One estimator, :class:`ABTest`, covers the usual online-experiment readouts:

* difference in means with Welch standard errors (identical to OLS HC2) and a t-based CI;
* CUPED (Deng et al. 2013) with the pooled ``theta = cov(y, x) / var(x)`` from ``spec.pre_covariate``;
* Lin's (2013) interacted regression adjustment for ``spec.covariates`` (HC2), or cluster-robust SEs;
* ratio metrics ``sum(numerator) / sum(denominator)`` per arm with delta-method SEs (users iid);
* relative lift with a delta-method CI;
* more than two arms, each against the control, with Holm-adjusted p-values;
* a sample-ratio-mismatch chi-square diagnostic against the expected split.

The arithmetic is a few vectorised moments, so it is written here rather than routed through a
regression library; statsmodels is used for the regression-adjusted and clustered variants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from .._data import prepare
from .._typing import check_option
from ..errors import DataError, SpecError
from ..inference.basic import t_ci
from ..result import Diagnostic, EffectEstimate, make_lineage
from ..spec import ExperimentSpec

__all__ = ["ABTest", "welch", "cuped_theta", "ratio_delta"]

Adjustment = Literal["auto", "none", "cuped", "ancova", "lin"]


@dataclass(frozen=True)
class _Contrast:
    estimate: float
    se: float
    df: float | None
    rel: float
    rel_se: float
    baseline: float


def welch(y1: np.ndarray, y0: np.ndarray) -> tuple[Any, Any, Any]:
    """Difference in means, Welch SE and Welch-Satterthwaite df along the last axis.

    Works on 1-D arrays (one test) or stacked 2-D arrays (many simulated tests at once).

    Examples
    --------
    >>> import numpy as np
    >>> est, se, df = welch(np.array([1.0, 2, 3, 4]), np.array([0.0, 1, 2]))
    >>> round(est, 3)
    1.5
    """
    n1, n0 = y1.shape[-1], y0.shape[-1]
    v1, v0 = y1.var(axis=-1, ddof=1) / n1, y0.var(axis=-1, ddof=1) / n0
    se = np.sqrt(v1 + v0)
    scale = np.where(np.maximum(v1, v0) > 0, np.maximum(v1, v0), 1.0)  # scale-free: no overflow in v**2
    r1, r0 = v1 / scale, v0 / scale
    df = (r1 + r0) ** 2 / (r1**2 / (n1 - 1) + r0**2 / (n0 - 1))
    est = y1.mean(axis=-1) - y0.mean(axis=-1)
    if np.ndim(est) == 0:
        return float(est), float(se), float(df)
    return est, se, df


def cuped_theta(y: np.ndarray, x: np.ndarray) -> Any:
    """CUPED coefficient ``cov(y, x) / var(x)`` pooled over all arms, along the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> cuped_theta(np.array([1.0, 2, 3]), np.array([1.0, 2, 3]))
    1.0
    """
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    theta = (xc * yc).sum(axis=-1) / (xc * xc).sum(axis=-1)
    return float(theta) if np.ndim(theta) == 0 else theta


def ratio_delta(num: np.ndarray, den: np.ndarray, ddof: int = 1) -> tuple[float, float]:
    """Ratio ``sum(num) / sum(den)`` and its delta-method SE (units iid).

    Examples
    --------
    >>> import numpy as np
    >>> r, se = ratio_delta(np.array([1.0, 0, 2]), np.array([10.0, 5, 10]))
    >>> round(r, 3)
    0.12
    """
    n = len(num)
    mn, md = num.mean(), den.mean()
    r = mn / md
    vn, vd = num.var(ddof=ddof), den.var(ddof=ddof)
    cov = np.dot(num - mn, den - md) / (n - ddof)
    var = (vn - 2 * r * cov + r**2 * vd) / (n * md**2)
    return float(r), float(math.sqrt(max(var, 0.0)))


@dataclass(frozen=True)
class _ArmIndex:
    """Arms coded 0..k-1 (0 = control), with per-arm sums computed in one BLAS pass."""

    arms: list[Any]
    codes: np.ndarray
    counts: np.ndarray

    @classmethod
    def build(cls, column: np.ndarray, arms: list[Any]) -> _ArmIndex:
        position = {a: i for i, a in enumerate(arms)}
        # fast path for 0/1 (or small integer) arms: a lookup table, no hashing
        small_ints = (
            column.dtype.kind in "iub" and column.size
            and all(isinstance(a, (int, np.integer)) for a in arms)
            and int(max(arms)) - int(min(arms)) <= 10_000
        )
        if small_ints:
            lo, hi = int(min(arms)), int(max(arms))
            remap = np.zeros(hi - lo + 1, dtype=np.intp)
            for a, i in position.items():
                remap[int(a) - lo] = i
            if lo == 0 and column.dtype == np.intp and (remap == np.arange(remap.size)).all():
                codes = column  # already 0..k-1 with the control at 0: no copy needed
            else:
                codes = remap[column.astype(np.intp) - lo]
        else:
            raw, uniques = pd.factorize(column)
            remap = np.array([position[u] for u in uniques], dtype=np.intp)
            codes = remap[raw]
        return cls(arms, codes, np.bincount(codes, minlength=len(arms)))

    def mask(self, i: int) -> np.ndarray:
        return self.codes == i

    def sums(self, columns: np.ndarray, codes: np.ndarray | None = None) -> np.ndarray:
        """Per-arm column sums of an ``(n, m)`` array: shape ``(k, m)``."""
        codes = self.codes if codes is None else codes
        k = int(codes.max()) + 1
        total = columns.sum(axis=0)
        if k == 2:
            treated = codes.astype(float)
            s1 = treated @ columns
            return np.vstack([total - s1, s1])
        return np.column_stack([np.bincount(codes, weights=columns[:, j], minlength=k) for j in range(columns.shape[1])])

    def moments(self, values: np.ndarray, codes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-arm means and ddof=1 variances (centred on the grand mean for stability)."""
        codes = self.codes if codes is None else codes
        n = np.bincount(codes).astype(float)
        c = values.mean()
        dev = values - c
        stacked = np.empty((values.size, 2), order="F")
        stacked[:, 0] = dev
        np.multiply(dev, dev, out=stacked[:, 1])
        sums = self.sums(stacked, codes)
        mean_dev = sums[:, 0] / n
        return mean_dev + c, (sums[:, 1] - n * mean_dev**2) / (n - 1)


def _cuped_moments(index: _ArmIndex, y: np.ndarray, x: np.ndarray):
    """CUPED theta and per-arm moments of y, x and the adjusted outcome from a few BLAS dots."""
    yc, xc = y - y.mean(), x - x.mean()
    grand = np.array([0.0, 0.0, yc @ yc, xc @ xc, yc @ xc])  # sums of yc, xc, yc^2, xc^2, yc*xc
    if len(index.arms) == 2:
        # two arms: the treated sums are dots with a 0/1 vector; the control sums are the rest
        treated = index.codes.astype(float)
        ty, tx = treated * yc, treated * xc
        s1 = np.array([ty.sum(), tx.sum(), ty @ yc, tx @ xc, ty @ xc])
        S = np.vstack([grand - s1, s1])
    else:
        stacked = np.empty((y.size, 5), order="F")
        stacked[:, 0], stacked[:, 1] = yc, xc
        np.multiply(yc, yc, out=stacked[:, 2])
        np.multiply(xc, xc, out=stacked[:, 3])
        np.multiply(yc, xc, out=stacked[:, 4])
        S = index.sums(stacked)
    n = index.counts.astype(float)
    theta = float(grand[4] / grand[3])

    def mv(s1, s2, shift):
        m = s1 / n
        return m + shift, (s2 - n * m**2) / (n - 1)

    adj1 = S[:, 0] - theta * S[:, 1]
    adj2 = S[:, 2] - 2 * theta * S[:, 4] + theta**2 * S[:, 3]
    return theta, mv(adj1, adj2, y.mean()), mv(S[:, 0], S[:, 2], y.mean()), mv(S[:, 1], S[:, 3], x.mean())


def _welch_moments(m1: float, v1: float, n1: float, m0: float, v0: float, n0: float) -> tuple[float, float, float]:
    a, b = v1 / n1, v0 / n0
    scale = max(a, b) if max(a, b) > 0 else 1.0  # scale-free: no overflow in a**2 for large outcomes
    ra, rb = a / scale, b / scale
    df = (ra + rb) ** 2 / (ra**2 / (n1 - 1) + rb**2 / (n0 - 1))
    return float(m1 - m0), float(math.sqrt(a + b)), float(df)


def _lift(m1: float, se1: float, m0: float, se0: float) -> tuple[float, float]:
    """Relative lift m1/m0 - 1 with the delta-method SE for independent arms."""
    rel = m1 / m0 - 1
    se = math.hypot(se1 / m0, (m1 / m0) * (se0 / m0))  # the same formula without overflowing powers
    return rel, se


def _holm(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adj[idx] = running
    return adj


class ABTest:
    """Analyse a randomized A/B(/n) test.

    Parameters
    ----------
    adjustment : {"auto", "none", "cuped", "ancova", "lin"}
        ``auto`` uses CUPED when ``spec.pre_covariate`` is set and Lin's interacted regression when
        ``spec.covariates`` are set; ``ancova`` is ``y ~ t + centred covariates`` with HC1 SEs;
        ``none`` is the plain difference in means.
    control : scalar, optional
        Label of the control arm. Default: 0 if present, else the first arm in sorted order.
    arm : scalar, optional
        Treatment arm reported as the headline when there are several. Default: the first non-control arm.
    expected_split : dict, optional
        Expected share of units per arm for the sample-ratio-mismatch test. Default: equal split.
    srm_alpha : float
        p-value below which the sample-ratio check fails (default 0.001).
    ratio_ddof : int
        Degrees-of-freedom correction for the ratio-metric variances (default 1).
    prior_looks : sequence of dict, optional
        Earlier looks of a sequential study (``spec.sequential``), oldest first, as given by
        ``Registry.prior_looks``; used for look numbering and the group-sequential boundary.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="cuped", design="ab", outcome="y", treatment="treat",
    ...                          pre_covariate="pre")
    >>> res = ABTest().fit(ck.datasets.load("ab_cuped_sim"), spec)
    >>> round(res.estimate, 5), round(res.se, 5)
    (0.25603, 0.06009)
    """

    def __init__(
        self,
        *,
        adjustment: Adjustment = "auto",
        control: Any = None,
        arm: Any = None,
        expected_split: dict[Any, float] | None = None,
        srm_alpha: float = 0.001,
        ratio_ddof: int = 1,
        prior_looks: Any = None,
    ) -> None:
        self.adjustment = adjustment
        self.control = control
        self.arm = arm
        self.expected_split = expected_split
        self.srm_alpha = srm_alpha
        self.ratio_ddof = ratio_ddof
        self.prior_looks = prior_looks

    def __repr__(self) -> str:
        return f"ABTest(adjustment={self.adjustment!r}, control={self.control!r})"

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any, spec: ExperimentSpec) -> EffectEstimate:
        """Estimate the effect of each arm against the control.

        Parameters
        ----------
        data : DataFrame
            One row per randomized unit. Not modified.
        spec : ExperimentSpec
            Needs ``treatment`` and ``outcome`` (or ``numerator`` and ``denominator``).
        """
        check_option(self.adjustment, Adjustment, "adjustment", "ABTest")
        if not 0 < self.srm_alpha < 1:
            raise SpecError(f"The 'srm_alpha' parameter of ABTest must be a float in (0, 1). Got {self.srm_alpha!r} instead.")
        if spec.treatment is None:
            raise SpecError("ABTest needs spec.treatment (the arm column).")
        ratio = spec.numerator is not None
        if not ratio and spec.outcome is None:
            raise SpecError("ABTest needs spec.outcome, or spec.numerator and spec.denominator for a ratio metric.")
        prepared = prepare(data, spec)
        df = prepared.frame
        arms = self._arms(df[spec.treatment])
        control = arms[0]
        index = _ArmIndex.build(df[spec.treatment].to_numpy(), arms)
        for a, count in zip(arms, index.counts):
            if count < 2:
                raise DataError(
                    f"arm {a!r} of column {spec.treatment!r} (spec.treatment) has {int(count)} row(s); "
                    "each arm needs at least 2 units."
                )
        if ratio:
            masks = {a: index.mask(i) for i, a in enumerate(arms)}
            contrasts, method_note, arm_table = self._ratio(df, spec, arms, masks)
            x_moments = None
            outcome_name = f"{spec.numerator}/{spec.denominator}"
        else:
            contrasts, method_note, arm_table, x_moments = self._means(df, spec, index)
            outcome_name = spec.outcome or ""

        comp = self._comparisons(contrasts, spec.alpha)
        headline_arm = arms[1] if self.arm is None else self.arm
        if headline_arm not in contrasts:
            raise SpecError(f"The 'arm' parameter of ABTest must be one of {arms[1:]}. Got {self.arm!r} instead.")
        c = contrasts[headline_arm]
        row = comp.loc[comp["arm"].astype(str) == str(headline_arm)].iloc[0]
        diagnostics = self._diagnostics(df, spec, index, x_moments)
        head = arms.index(headline_arm)
        n_treated = int(index.counts[head])
        exposure = float(df.loc[index.mask(head), spec.denominator].sum()) if ratio else float(n_treated)
        result = EffectEstimate(
            method="ab",
            design=spec.design,
            estimand="ATE",
            estimate=c.estimate,
            se=c.se,
            ci=(float(row["ci_low"]), float(row["ci_high"])),
            p_value=float(row["p_value"]),
            alpha=spec.alpha,
            n_obs=len(df),
            n_units=len(df),
            n_dropped=prepared.n_dropped,
            dropped_reasons=prepared.dropped_reasons,
            diagnostics=diagnostics,
            tables={"arms": arm_table, "comparisons": comp},
            lineage=make_lineage(spec, prepared.fingerprint),
            inference=method_note,
            df_resid=c.df,
            baseline=c.baseline,
            relative_ci=(float(row["relative_ci_low"]), float(row["relative_ci_high"])),
            exposure=exposure,
            outcome=outcome_name,
            details={
                "control": _scalar(control),
                "arm": _scalar(headline_arm),
                "n_arms": len(arms),
                "adjustment": method_note.split(":")[0],
                "ratio_metric": ratio,
            },
            label=f"A/B: {headline_arm} vs {control}",
        )
        if spec.sequential is not None:  # always-valid readout at this look (inference/sequential_readout.py)
            from ..inference.sequential_readout import sequential_ab

            result = sequential_ab(result, spec, df, expected_split=self.expected_split, prior_looks=self.prior_looks)
        return result

    # ------------------------------------------------------------------ pieces
    def _arms(self, arm: pd.Series) -> list[Any]:
        col = arm.to_numpy()
        lo, hi = (int(col.min()), int(col.max())) if col.dtype.kind in "iub" and col.size else (0, -1)
        if col.dtype.kind in "iub" and col.size and hi - lo <= 10_000:
            shifted = col if (lo == 0 and col.dtype == np.intp) else col.astype(np.intp) - lo
            present = np.flatnonzero(np.bincount(shifted)) + lo
            values = [v.item() for v in present.astype(col.dtype)]
        else:
            values = sorted(pd.unique(arm), key=lambda v: (str(type(v)), v))
        if self.control is not None:
            if self.control not in values:
                raise SpecError(f"The 'control' parameter of ABTest must be one of {values}. Got {self.control!r} instead.")
            control = self.control
        else:
            control = next((v for v in values if v == 0), values[0])  # keeps the column's own type
        return [control] + [v for v in values if v != control]

    def _means(self, df: pd.DataFrame, spec: ExperimentSpec, index: _ArmIndex):
        arms = index.arms
        y = df[spec.outcome].to_numpy(dtype=float)
        mode = self.adjustment
        if mode == "auto":
            mode = "lin" if spec.covariates else ("cuped" if spec.pre_covariate else "none")
        if mode == "cuped" and spec.pre_covariate is None:
            raise SpecError("adjustment='cuped' needs spec.pre_covariate (the pre-period metric).")
        if mode in ("lin", "ancova") and not (spec.covariates or spec.pre_covariate):
            raise SpecError(f"adjustment={mode!r} needs spec.covariates or spec.pre_covariate.")
        theta = None
        x_moments = None
        if mode == "cuped":
            x = df[spec.pre_covariate].to_numpy(dtype=float)
            if np.ptp(x) == 0:
                raise DataError(f"column {spec.pre_covariate!r} (spec.pre_covariate) is constant; CUPED needs variation.")
            theta, (mean, var), (raw_mean, raw_var), x_moments = _cuped_moments(index, y, x)
        else:
            mean, var = index.moments(y)
            raw_mean, raw_var = mean, var
        n = index.counts.astype(float)
        regression = mode in ("lin", "ancova") or spec.cluster is not None or spec.weights is not None
        contrasts: dict[Any, _Contrast] = {}
        for i, a in enumerate(arms[1:], start=1):
            if regression:
                treated = index.mask(i)
                est, se, dof = self._regression(df, spec, treated | index.mask(0), treated, mode)
            else:
                est, se, dof = _welch_moments(mean[i], var[i], n[i], mean[0], var[0], n[0])
            m0, m1 = float(mean[0]), float(mean[0]) + est
            se0 = math.sqrt(var[0] / n[0])
            se1 = math.sqrt(max(se**2 - se0**2, 0.0))
            rel, rel_se = _lift(m1, se1, m0, se0)
            contrasts[a] = _Contrast(est, se, dof, rel, rel_se, m0)
        table = pd.DataFrame(
            {
                "arm": [str(a) for a in arms],
                "n": index.counts.astype(int),
                "mean": raw_mean,
                "sd": np.sqrt(raw_var),
                "adjusted_mean": mean,
            }
        )
        notes = {
            "none": "difference in means: Welch SE (= OLS HC2), t-based CI",
            "cuped": f"cuped: theta={theta:.6g} pooled cov/var, Welch SE on adjusted outcome, t-based CI" if theta is not None else "",
            "lin": "lin: interacted regression adjustment on centred covariates, HC2 SE, t-based CI",
            "ancova": "ancova: OLS on treatment and centred covariates, HC1 SE, t-based CI",
        }
        note = notes[mode]
        if spec.cluster is not None:
            note = f"{mode}: OLS with cluster-robust (CR1) SE by {spec.cluster!r}, t-based CI"
        elif spec.weights is not None and mode != "lin":
            note = f"{mode}: weighted least squares by {spec.weights!r}, HC2 SE, t-based CI"
        return contrasts, note, table, x_moments

    def _regression(self, df: pd.DataFrame, spec: ExperimentSpec, keep: np.ndarray, treated: np.ndarray, mode: str):
        import statsmodels.api as sm

        sub = df.loc[keep]
        y = sub[spec.outcome].to_numpy(dtype=float)
        t = treated[keep].astype(float)
        cols = list(spec.covariates) + ([spec.pre_covariate] if spec.pre_covariate and mode != "none" else [])
        cols = list(dict.fromkeys(cols))
        parts = [np.ones_like(t), t]
        if cols and mode in ("lin", "cuped", "ancova"):
            X = sub[cols].to_numpy(dtype=float)
            Xc = X - X.mean(axis=0)
            parts += list(Xc.T)
            if mode == "lin":
                parts += list((Xc * t[:, None]).T)
        design = np.column_stack(parts)
        if np.linalg.matrix_rank(design) < design.shape[1]:
            raise DataError(
                f"the adjustment covariates {cols} are collinear (rank {np.linalg.matrix_rank(design)} < "
                f"{design.shape[1]} columns); drop redundant covariates."
            )
        w = sub[spec.weights].to_numpy(dtype=float) if spec.weights else None
        model = sm.WLS(y, design, weights=w) if w is not None else sm.OLS(y, design)
        if spec.cluster is not None:
            groups = pd.factorize(sub[spec.cluster])[0]
            fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
            dof = float(len(np.unique(groups)) - 1)
        else:
            fit = model.fit(cov_type="HC1" if mode == "ancova" else "HC2")
            dof = float(fit.df_resid)
        return float(fit.params[1]), float(fit.bse[1]), dof

    def _ratio(self, df: pd.DataFrame, spec: ExperimentSpec, arms: list[Any], masks: dict[Any, np.ndarray]):
        num = df[spec.numerator].to_numpy(dtype=float)
        den = df[spec.denominator].to_numpy(dtype=float)
        if (den < 0).any():
            raise DataError(f"column {spec.denominator!r} (spec.denominator) has {int((den < 0).sum())} negative values.")
        per_arm = {}
        for a in arms:
            if den[masks[a]].sum() <= 0:
                raise DataError(f"column {spec.denominator!r} (spec.denominator) sums to 0 in arm {a!r}; the ratio is undefined.")
            per_arm[a] = ratio_delta(num[masks[a]], den[masks[a]], ddof=self.ratio_ddof)
        r0, se0 = per_arm[arms[0]]
        contrasts = {}
        for a in arms[1:]:
            r1, se1 = per_arm[a]
            rel, rel_se = _lift(r1, se1, r0, se0)
            contrasts[a] = _Contrast(r1 - r0, math.sqrt(se1**2 + se0**2), None, rel, rel_se, r0)
        table = pd.DataFrame(
            {
                "arm": [str(a) for a in arms],
                "n": [int(masks[a].sum()) for a in arms],
                "numerator_sum": [float(num[masks[a]].sum()) for a in arms],
                "denominator_sum": [float(den[masks[a]].sum()) for a in arms],
                "mean": [per_arm[a][0] for a in arms],
                "se": [per_arm[a][1] for a in arms],
            }
        )
        note = f"ratio metric: delta-method SE (ddof={self.ratio_ddof}), normal CI"
        return contrasts, note, table

    def _comparisons(self, contrasts: dict[Any, _Contrast], alpha: float) -> pd.DataFrame:
        rows = []
        for a, c in contrasts.items():
            ci, p = t_ci(c.estimate, c.se, alpha, c.df)
            rci, _ = t_ci(c.rel, c.rel_se, alpha, None)
            rows.append(
                {
                    "arm": str(a), "estimate": c.estimate, "se": c.se, "df": np.nan if c.df is None else c.df,
                    "ci_low": ci[0], "ci_high": ci[1], "p_value": p,
                    "relative_lift": c.rel, "relative_se": c.rel_se,
                    "relative_ci_low": rci[0], "relative_ci_high": rci[1], "baseline": c.baseline,
                }
            )
        table = pd.DataFrame(rows)
        table["p_holm"] = _holm(table["p_value"].to_numpy())
        return table

    def _diagnostics(
        self, df: pd.DataFrame, spec: ExperimentSpec, index: _ArmIndex, x_moments: Any = None
    ) -> tuple[Diagnostic, ...]:
        arms = index.arms
        counts = index.counts.astype(float)
        if self.expected_split is None:
            shares = np.full(len(arms), 1 / len(arms))
        else:
            missing = [a for a in arms if a not in self.expected_split]
            if missing:
                raise SpecError(f"The 'expected_split' parameter of ABTest has no share for arm(s) {missing}.")
            shares = np.array([self.expected_split[a] for a in arms], dtype=float)
            shares = shares / shares.sum()
        expected = counts.sum() * shares
        chi2 = float(((counts - expected) ** 2 / expected).sum())  # Pearson's chi-square, k - 1 df
        p = float(chdtrc(len(counts) - 1, chi2))
        split = ", ".join(f"{a}: {int(c)}" for a, c in zip(arms, counts))
        if p < self.srm_alpha:
            srm = Diagnostic("sample_ratio_mismatch", "fail",
                             f"Arm sizes ({split}) differ from the expected split (chi-square p={p:.2g}); "
                             "check assignment and logging before trusting the result.",
                             float(chi2), float(p), self.srm_alpha, "randomization")
        else:
            srm = Diagnostic("sample_ratio_mismatch", "pass",
                             f"Arm sizes ({split}) match the expected split (chi-square p={p:.2g}).",
                             float(chi2), float(p), self.srm_alpha, "randomization")
        out = [srm]
        balance_cols = [c for c in ([spec.pre_covariate] + list(spec.covariates)) if c]
        if balance_cols:
            worst, worst_col = 0.0, balance_cols[0]
            treated_any = (index.codes > 0).astype(np.intp)
            for col in balance_cols:
                if col == spec.pre_covariate and x_moments is not None and len(arms) == 2:
                    m, v = x_moments
                else:
                    m, v = index.moments(df[col].to_numpy(dtype=float), treated_any)
                pooled = math.sqrt((v[0] + v[1]) / 2) or 1.0
                smd = abs(m[1] - m[0]) / pooled
                if smd >= worst:
                    worst, worst_col = smd, col
            status = "pass" if worst < 0.1 else "warn"
            out.append(Diagnostic("covariate_balance", status,
                                  f"Largest standardized mean difference is {worst:.3f} on {worst_col!r}"
                                  + (" (below 0.1: arms look balanced)." if status == "pass" else "; check the randomization."),
                                  float(worst), None, 0.1, "balance"))
        else:
            out.append(Diagnostic("covariate_balance", "not_applicable",
                                  "No pre-period covariate was given, so balance cannot be checked.", assumption="balance"))
        if len(arms) > 2:
            out.append(Diagnostic("multiple_arms", "pass",
                                  f"{len(arms) - 1} arms were compared with the control; p-values are Holm-adjusted in the comparisons table.",
                                  assumption="inference"))
        return tuple(out)


def _scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v
