"""Simulation power on history: inject a known lift into past windows and re-run the estimator.

For each candidate design (a treated set of geos against a control set) and each of many
historical windows (a pre-period of ``pre_periods`` followed by a test of ``duration``
periods), the treated geos' KPI over the test is multiplied by ``1 + effect`` and the
planned estimator with its inference is run. The rejection rate over windows is the power,
the mean relative error the bias and the share of intervals covering the injected effect the
coverage; the zero effect gives the A/A type-I error.

Vectorised: every estimator here fits its weights on the pre-period only, and the lift only
touches treated post-period outcomes, so for fixed weights the estimate is linear in the
effect, ``tau(e) = tau(0) + e * baseline``. One fit per design and window serves the whole
effect grid; DiD and the time-based regression are closed forms batched over all designs
and windows at once; synthetic control and SDID batch the designs of a window in one call
of the simplex solvers in :mod:`causal_kit.solvers.simplex`. Windows are split over
``n_jobs`` local workers or a Dask cluster (:mod:`causal_kit._parallel`).

Two inference modes:

* **approximate** (:func:`simulate_power`): the closed-form t-tests listed below. Fast, so
  :func:`causal_kit.design.plan` uses it to rank candidate assignments cheaply.
* **readout** (:func:`simulate_readout`): the registered readout estimator itself
  (``causal_kit.estimators.get_estimator(name, **options).fit(window, spec)``, exactly what
  :func:`causal_kit.estimate` runs) with its own inference: placebo SEs for synthetic control
  and SDID, CRV1 / wild cluster bootstrap for DiD. One real fit per estimator, duration and
  window at zero lift; the effect grid follows by linearity (see :class:`ReadoutSimOutput`).
  ``plan`` uses it for the final design's power curve, duration table, ranking and A/A error.

Estimators and their inference (t-tests):

``did``
    Two-way DiD in levels; with a common start it equals the difference in mean per-geo
    (post mean - pre mean) changes. SE: pooled two-sample variance of those changes (the
    unit-clustered DiD), ``n_T + n_C - 2`` df.
``time_regression``
    Time-based regression (Kerman, Wang & Vaver 2017): the treated mean regressed on the
    control mean over the pre-period; effect = mean post-period prediction error.
``synthetic_control``
    Simplex weights of control geos reproducing the treated mean over the pre-period;
    effect = mean post-period gap.

    Both use a holdout-calibrated SE: the model is refitted on the first ``P - V``
    pre-periods and predicts the last ``V = min(max(L, P // 3), P // 2)``; the squared SE is
    ``mean(e)^2 * min(1, L / V) + var(e) * LRV / L`` over those holdout errors ``e`` (LRV:
    Newey-West long-run variance ratio), on ``V - 1`` df. In-sample residuals of a fit with
    many donors understate the out-of-sample gap; the holdout error carries the overfit and
    the slow drift of latent factors.
``sdid``
    Synthetic DiD (Arkhangelsky et al. 2021) unit and time weights; SE from the dispersion of
    the pre-period gap with the long-run variance inflation; ``P - 1`` df.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from .._parallel import map_tasks
from ..errors import DataError, SpecError

__all__ = [
    "SIM_ESTIMATORS", "READOUT_ESTIMATORS", "SimOutput", "ReadoutSimOutput", "window_starts",
    "simulate_power", "simulate_readout", "readout_window_fit", "readout_options", "mde_from_sim",
]

SimEstimator = Literal["did", "time_regression", "synthetic_control", "sdid"]
SIM_ESTIMATORS: tuple[str, ...] = get_args(SimEstimator)
#: Estimators simulated with the readout's own estimator and inference (time_regression has no
#: readout class and keeps the approximate t-test).
READOUT_ESTIMATORS: tuple[str, ...] = ("did", "synthetic_control", "sdid", "bsts")
#: estimators simulated only through their readout (no vectorised approximation exists)
READOUT_ONLY: tuple[str, ...] = ("bsts",)
#: slowest first, so parallel workers finish together
_READOUT_COST = {"bsts": 0, "sdid": 1, "synthetic_control": 2, "did": 3}
#: Placebo replicates per fit in readout-mode simulations, unless the spec's estimator options
#: set ``n_reps``: the readout's default 200 makes SDID about 2 s per fit; 100 replicates give
#: the same expected interval width with a Monte Carlo SD of the SE of about 7%.
READOUT_PLACEBO_REPS = 100


@dataclass(frozen=True)
class SimOutput:
    """Per design x window results of one estimator (arrays of shape ``(D, W)``).

    ``tau0`` is the estimate with no injected lift, ``baseline`` the treated counterfactual
    mean per geo and period, ``se2`` the squared SE as a quadratic in the effect
    (``s0 + s1 e + s2 e^2``), ``df`` the t degrees of freedom, ``n_treated`` the treated geos.
    """

    estimator: str
    tau0: np.ndarray
    baseline: np.ndarray
    se2: tuple[np.ndarray, np.ndarray, np.ndarray]
    df: np.ndarray
    starts: np.ndarray
    duration: int
    pre_periods: int
    alpha: float

    def se(self, effect: np.ndarray | float) -> np.ndarray:
        """SE for each design, window and effect: ``(D, W, E)``."""
        e = np.atleast_1d(np.asarray(effect, dtype=float))[None, None, :]
        s0, s1, s2 = (a[:, :, None] for a in self.se2)
        return np.sqrt(np.maximum(s0 + s1 * e + s2 * e * e, 1e-300))

    def evaluate(self, effects: Sequence[float]) -> dict[str, np.ndarray]:
        """Rejections, relative estimates and coverage for each effect: ``(D, W, E)`` arrays."""
        e = np.atleast_1d(np.asarray(effects, dtype=float))
        b = self.baseline[:, :, None]
        tau = self.tau0[:, :, None] + e[None, None, :] * b
        se = self.se(e)
        crit = stats.t.isf(self.alpha / 2, self.df)[:, :, None]
        return {
            "reject": np.abs(tau) > crit * se,
            "rel_est": tau / b,
            "cover": np.abs(self.tau0[:, :, None]) <= crit * se,
            "rel_se": se / b,
        }


# ----------------------------------------------------------------------------- windows
def window_starts(n_periods: int, duration: int, pre_periods: int, n_windows: int) -> np.ndarray:
    """Evenly spaced test-start indices, always including the most recent window.

    Examples
    --------
    >>> window_starts(100, 10, 30, 3).tolist()
    [30, 60, 90]
    """
    first, last = pre_periods, n_periods - duration
    if last < first:
        raise DataError(
            f"the history has {n_periods} periods, fewer than pre_periods + duration = "
            f"{pre_periods} + {duration} = {pre_periods + duration}. Give a longer history, or lower "
            "plan.pre_periods or plan.duration."
        )
    n = min(int(n_windows), last - first + 1)
    return np.unique(np.round(np.linspace(last, first, n)).astype(int))


def _lrv_inflation(resid: np.ndarray, duration: int) -> np.ndarray:
    """Long-run variance ratio of the residuals along the last axis (Newey-West, Bartlett kernel).

    The variance of a mean of ``L`` autocorrelated errors is ``LRV / L``, with
    ``LRV = gamma_0 + 2 sum_k (1 - k / (b + 1)) gamma_k``; the ratio ``LRV / gamma_0`` is
    returned (at least 1). The bandwidth ``b = min(L, P // 3)`` reaches as far as the test
    is long, because slow factor drift is what makes geo tests noisy.
    """
    r = resid - resid.mean(axis=-1, keepdims=True)
    P = r.shape[-1]
    b = int(max(1, min(duration, P // 3)))
    g0 = (r * r).sum(axis=-1)
    lrv = g0.copy()
    for k in range(1, b + 1):
        lrv += 2.0 * (1.0 - k / (b + 1.0)) * (r[..., k:] * r[..., :-k]).sum(axis=-1)
    return np.maximum(np.where(g0 > 0, lrv / np.where(g0 > 0, g0, 1.0), 1.0), 1.0)


def _masks(designs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    treat = (designs == 1).astype(float)
    ctrl = (designs == 0).astype(float)
    n_t, n_c = treat.sum(axis=1), ctrl.sum(axis=1)
    if (n_t < 1).any() or (n_c < 1).any():
        raise SpecError("every design needs at least one treated and one control geo.")
    return treat, ctrl, n_t, n_c


# ----------------------------------------------------------------------------- estimators
def _did(Y: np.ndarray, designs: np.ndarray, starts: np.ndarray, L: int, P: int) -> dict[str, np.ndarray]:
    treat, ctrl, n_t, n_c = _masks(designs)
    cs = np.concatenate([np.zeros((Y.shape[0], 1)), np.cumsum(Y, axis=1)], axis=1)
    post = (cs[:, starts + L] - cs[:, starts]) / L  # (N, W)
    pre = (cs[:, starts] - cs[:, starts - P]) / P
    delta = post - pre

    def mean(m: np.ndarray, x: np.ndarray, n: np.ndarray) -> np.ndarray:
        return (m @ x) / n[:, None]

    mt_d, mc_d, mt_p = mean(treat, delta, n_t), mean(ctrl, delta, n_c), mean(treat, post, n_t)
    ss_d = treat @ delta**2 - n_t[:, None] * mt_d**2 + ctrl @ delta**2 - n_c[:, None] * mc_d**2
    sp = treat @ (delta * post) - n_t[:, None] * mt_d * mt_p
    ss_p = treat @ post**2 - n_t[:, None] * mt_p**2
    df = (n_t + n_c - 2.0)[:, None] * np.ones_like(mt_d)
    if (df < 1).any():
        raise SpecError("DiD needs at least 3 geos in a design (treated + control) for its t-test.")
    k = ((1.0 / n_t + 1.0 / n_c) / (n_t + n_c - 2.0))[:, None]
    return {"tau0": mt_d - mc_d, "baseline": mt_p, "se2": (k * ss_d, k * 2 * sp, k * ss_p), "df": df}


def _series(Y: np.ndarray, designs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    treat, ctrl, n_t, n_c = _masks(designs)
    return (treat @ Y) / n_t[:, None], (ctrl @ Y) / n_c[:, None], treat, ctrl


def _windows_index(starts: np.ndarray, L: int, P: int) -> tuple[np.ndarray, np.ndarray]:
    return starts[:, None] + np.arange(-P, 0)[None, :], starts[:, None] + np.arange(L)[None, :]


def _ols(y0: np.ndarray, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xm, ym = x0.mean(-1), y0.mean(-1)
    sxx = ((x0 - xm[..., None]) ** 2).sum(-1)
    beta = ((x0 - xm[..., None]) * (y0 - ym[..., None])).sum(-1) / np.where(sxx > 0, sxx, 1.0)
    return ym - beta * xm, beta


def _holdout_se2(e_v: np.ndarray, L: int) -> np.ndarray:
    """Squared SE of a mean of ``L`` out-of-sample gaps from ``V`` holdout errors.

    ``mean(e)^2 * min(1, L / V) + var(e) * LRV-ratio(e) / L``: the persistent part (drift
    the fit cannot follow) plus the autocorrelated noise around it.
    """
    V = e_v.shape[-1]
    return e_v.mean(-1) ** 2 * min(1.0, L / V) + e_v.var(-1, ddof=1) * _lrv_inflation(e_v, L) / L


def _holdout_length(L: int, P: int) -> int:
    return int(min(max(L, P // 3), P // 2))


def _time_regression(Y: np.ndarray, designs: np.ndarray, starts: np.ndarray, L: int, P: int) -> dict[str, np.ndarray]:
    yt, xc, _, _ = _series(Y, designs)
    ipre, ipost = _windows_index(starts, L, P)
    y0, x0 = yt[:, ipre], xc[:, ipre]  # (D, W, P)
    y1, x1 = yt[:, ipost], xc[:, ipost]
    alpha, beta = _ols(y0, x0)
    tau0 = y1.mean(-1) - alpha - beta * x1.mean(-1)
    # holdout-calibrated SE: refit on the first P - V periods and predict the last V
    V = _holdout_length(L, P)
    a_h, b_h = _ols(y0[..., : P - V], x0[..., : P - V])
    e_v = y0[..., P - V :] - a_h[..., None] - b_h[..., None] * x0[..., P - V :]
    s0 = _holdout_se2(e_v, L)
    z = np.zeros_like(s0)
    return {"tau0": tau0, "baseline": y1.mean(-1), "se2": (s0, z, z), "df": np.full_like(s0, V - 1.0)}


def _synthetic_control(Y: np.ndarray, designs: np.ndarray, starts: np.ndarray, L: int, P: int) -> dict[str, np.ndarray]:
    from ..solvers.simplex import simplex_weights

    yt, _, treat, ctrl = _series(Y, designs)
    D, W = designs.shape[0], len(starts)
    tau0, base, s0, dfs = np.empty((D, W)), np.empty((D, W)), np.empty((D, W)), np.empty((D, W))
    allowed = ctrl > 0
    for j, s in enumerate(starts):
        pre = slice(s - P, s)
        scale = max(float(np.abs(yt[:, pre]).mean()), 1e-12)
        X = Y[:, pre].T / scale  # (P, N): every geo is a potential donor, masked per design
        w = simplex_weights(X, yt[:, pre] / scale, method="active_set", mask=allowed)
        tau0[:, j] = (yt[:, s : s + L] - w @ Y[:, s : s + L]).mean(-1)
        base[:, j] = yt[:, s : s + L].mean(-1)
        # Holdout-calibrated SE: refit on the first P - V pre-periods and predict the last V.
        # In-sample residuals of many donors understate the out-of-sample gap (overfit and
        # slow factor drift); the holdout error carries both.
        V = _holdout_length(L, P)
        fit = slice(s - P, s - V)
        w_h = simplex_weights(Y[:, fit].T / scale, yt[:, fit] / scale, method="active_set", mask=allowed)
        e_v = yt[:, s - V : s] - w_h @ Y[:, s - V : s]
        dfs[:, j] = V - 1
        s0[:, j] = _holdout_se2(e_v, L)
    z = np.zeros_like(s0)
    return {"tau0": tau0, "baseline": base, "se2": (s0, z, z), "df": dfs}


def _sdid(Y: np.ndarray, designs: np.ndarray, starts: np.ndarray, L: int, P: int) -> dict[str, np.ndarray]:
    from ..solvers.simplex import frank_wolfe, sdid_time_weights, sparsify_weights

    yt, _, treat, ctrl = _series(Y, designs)
    n_t = treat.sum(axis=1)
    D, W = designs.shape[0], len(starts)
    tau0, base, s0 = np.empty((D, W)), np.empty((D, W)), np.empty((D, W))
    allowed = ctrl > 0
    for j, s in enumerate(starts):
        scale = max(float(np.abs(yt[:, s - P : s]).mean()), 1e-12)
        Yw = Y[:, s - P : s + L] / scale
        ytw = yt[:, s - P : s + L] / scale
        Ypre, ypre = Yw[:, :P], ytw[:, :P]
        diffs = np.diff(Ypre, axis=1)
        # noise level per design: SD of the controls' first differences (synthdid's sigma)
        cnt = ctrl.sum(1) * diffs.shape[1]
        mu = (ctrl @ diffs.sum(1)) / cnt
        var = (ctrl @ (diffs**2).sum(1) - cnt * mu**2) / np.maximum(cnt - 1, 1)
        sigma = np.sqrt(np.maximum(var, 0.0))
        zeta = (n_t * L) ** 0.25 * sigma
        A = Ypre.T - Ypre.T.mean(axis=0, keepdims=True)  # centred over time: intercept profiled out
        b = ypre - ypre.mean(axis=1, keepdims=True)
        x0 = allowed / allowed.sum(axis=1, keepdims=True)
        omega, _ = frank_wolfe(A, b, P * zeta**2, x0=x0, mask=allowed, n_rows=P,
                               min_decrease=1e-5 * sigma, max_iter=100)
        omega, _ = frank_wolfe(A, b, P * zeta**2, x0=sparsify_weights(omega), mask=allowed, n_rows=P,
                               min_decrease=1e-5 * sigma, max_iter=2000)
        lam = sdid_time_weights(Ypre, Yw[:, P:].mean(axis=1), 1e-6 * float(sigma.mean()),
                                row_mask=allowed, max_iter=2000,
                                min_decrease=1e-5 * float(sigma.mean()))
        gap = ytw - omega @ Yw  # (D, P + L)
        g0, g1 = gap[:, :P], gap[:, P:]
        tau0[:, j] = (g1.mean(-1) - (lam * g0).sum(-1)) * scale
        base[:, j] = yt[:, s : s + L].mean(-1)
        disp = g0 - g0.mean(-1, keepdims=True)
        s2 = (disp**2).sum(-1) / (P - 1) * scale**2
        s0[:, j] = s2 * _lrv_inflation(g0, L) * (1.0 / L + (lam**2).sum(-1))
    z = np.zeros_like(s0)
    return {"tau0": tau0, "baseline": base, "se2": (s0, z, z), "df": np.full_like(s0, P - 1.0)}


_FUNCS = {"did": _did, "time_regression": _time_regression, "synthetic_control": _synthetic_control, "sdid": _sdid}


_WINDOWS_PER_CHUNK = 5  # closed-form estimators: windows per task


def _run_chunk(estimator: str, Y: np.ndarray, designs: np.ndarray, starts: np.ndarray, L: int, P: int) -> dict[str, Any]:
    return _FUNCS[estimator](Y, designs, starts, L, P)


def _chunk_task(starts: np.ndarray, *, estimator: str, Y: np.ndarray, designs: np.ndarray, L: int, P: int) -> dict[str, Any]:
    """One chunk of windows (a :func:`~causal_kit._parallel.map_tasks` task; ``Y`` is shared)."""
    return _run_chunk(estimator, Y, designs, starts, L, P)


def simulate_power(
    Y: np.ndarray,
    designs: np.ndarray,
    *,
    estimator: str = "did",
    duration: int,
    pre_periods: int,
    n_windows: int = 20,
    alpha: float = 0.05,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> SimOutput:
    """Fit ``estimator`` for every design and historical window, once, effect-free.

    Parameters
    ----------
    Y : (N, T) array
        Historical KPI, geos x periods (strictly positive for a multiplicative lift).
    designs : (D, N) int array
        1 = treated, 0 = control, -1 = not used (excluded, or another treatment cell).
    estimator : {"did", "time_regression", "synthetic_control", "sdid"}
    duration, pre_periods : int
        Test length ``L`` and pre-period length ``P`` of every window.
    n_windows : int
        Number of historical windows (evenly spaced, most recent included).
    n_jobs : int
        Local workers over chunks of windows. Inside ``causal_kit._parallel.use_execution``
        (the spec's ``execution:`` block) or with an active ``dask.distributed.Client`` the
        chunks run on a Dask cluster instead; the results do not depend on where they ran.
    progress : bool, optional
        Show a tqdm progress bar over chunks of windows (default: for synthetic control and
        SDID with at least 400 design-window fits).

    Returns
    -------
    SimOutput
        Call :meth:`SimOutput.evaluate` with an effect grid for rejections and coverage.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Y = 100 + rng.normal(0, 1, (20, 120))
    >>> designs = np.array([[1] * 5 + [0] * 15])
    >>> out = simulate_power(Y, designs, estimator="did", duration=14, pre_periods=28, n_windows=10)
    >>> out.evaluate([0.0, 0.05])["reject"].mean(axis=(0, 1)).round(1).tolist()
    [0.0, 1.0]
    """
    if estimator not in _FUNCS:
        raise SpecError(
            f"The 'estimator' parameter of simulate_power must be one of "
            f"{', '.join(repr(k) for k in _FUNCS)}. Got {estimator!r} instead."
        )
    Y = np.asarray(Y, dtype=float)
    designs = np.atleast_2d(np.asarray(designs))
    L, P = int(duration), int(pre_periods)
    if L < 1 or P < 3:
        raise SpecError(f"duration must be >= 1 and pre_periods >= 3; got duration={L}, pre_periods={P}.")
    starts = window_starts(Y.shape[1], L, P, n_windows)
    iterative = estimator in ("synthetic_control", "sdid")  # one solver call per window anyway
    # chunks of a fixed size, whatever the backend: batched closed forms can round differently
    # in the last bit with a different batch, and results must not depend on where they ran
    size = 1 if iterative else _WINDOWS_PER_CHUNK
    chunks = [starts[i : i + size] for i in range(0, len(starts), size)]
    show = (iterative and designs.shape[0] * len(starts) >= 400) if progress is None else bool(progress)
    parts = map_tasks(_chunk_task, chunks, n_jobs=n_jobs, progress=f"{estimator}: windows" if show else None,
                      shared={"estimator": estimator, "Y": Y, "designs": designs, "L": L, "P": P})
    cat = {k: np.concatenate([p[k] for p in parts], axis=1) for k in ("tau0", "baseline", "df")}
    se2 = tuple(np.concatenate([p["se2"][i] for p in parts], axis=1) for i in range(3))
    return SimOutput(
        estimator=estimator, tau0=cat["tau0"], baseline=cat["baseline"], se2=se2, df=cat["df"],
        starts=np.concatenate(chunks), duration=L, pre_periods=P, alpha=alpha,
    )


# ----------------------------------------------------------------------------- readout mode
@dataclass(frozen=True)
class ReadoutSimOutput:
    """Per design x window results of a readout estimator (arrays of shape ``(D, W)``).

    ``tau0`` is the readout estimate with no injected lift, ``ci_low``/``ci_high`` its
    ``1 - alpha`` interval and ``se0`` its SE, ``baseline`` (``m``) the mean KPI of the treated
    geos over the window's post cells. Injecting a lift ``e`` into those cells adds ``e * m``
    to the estimate: exactly for synthetic control and SDID, whose weights use only
    pre-period and control data, and for the DiD point estimate (a difference of cell means on
    a balanced window). The intervals are held at their zero-lift width and shifted with the
    estimate, an approximation: with several treated geos they come from randomisation over
    all geos, which sees a multiplicative lift on geos of different sizes as a heterogeneous
    effect (an 8% lift widened them by up to about 40% for SDID in a test), and DiD's cluster
    SE / wild bootstrap interval moves a little too.
    The test rejects when the shifted interval excludes 0; it covers the truth ``e * m`` when
    the zero-lift interval contains 0.
    """

    estimator: str
    tau0: np.ndarray
    baseline: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    se0: np.ndarray
    starts: np.ndarray
    duration: int
    pre_periods: int
    alpha: float
    inference: str = ""

    def evaluate(self, effects: Sequence[float]) -> dict[str, np.ndarray]:
        """Rejections, relative estimates and coverage for each effect: ``(D, W, E)`` arrays."""
        e = np.atleast_1d(np.asarray(effects, dtype=float))[None, None, :]
        b = self.baseline[:, :, None]
        shift = e * b
        lo, hi = self.ci_low[:, :, None] + shift, self.ci_high[:, :, None] + shift
        cover = (self.ci_low <= 0.0) & (self.ci_high >= 0.0)
        shape = np.broadcast_shapes(lo.shape, b.shape)
        return {
            "reject": (lo > 0.0) | (hi < 0.0),
            "rel_est": (self.tau0[:, :, None] + shift) / b,
            "cover": np.broadcast_to(cover[:, :, None], shape),
            "rel_se": np.broadcast_to((self.se0 / self.baseline)[:, :, None], shape),
        }


def readout_options(spec: Any, estimator: str) -> dict[str, Any]:
    """The options :func:`causal_kit.estimate` would pass to ``estimator`` for ``spec``.

    ``spec.estimators[i].options`` when the method is listed there; ``spec.options`` when
    ``spec.estimators`` is empty and the method is the design's default; else none.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="g", design="sdid", outcome="kpi", unit="geo", time="date",
    ...     treatment="treated", estimators=[{"method": "sdid", "options": {"n_reps": 50}}])
    >>> readout_options(spec, "sdid")
    {'n_reps': 50}
    """
    from ..estimators import DEFAULT_FOR_DESIGN

    if spec.estimators:
        for choice in spec.estimators:
            if choice.method == estimator:
                return dict(choice.options)
        return {}
    return dict(spec.options) if DEFAULT_FOR_DESIGN.get(spec.design) == estimator else {}


def _window_spec(spec: Any) -> Any:
    """The readout spec for a historical window: same roles and settings, one method at a time.

    The window's own timing replaces the spec's (treatment_start, cohort, pre/post periods), and
    roles the history does not carry (covariates, weights, a non-unit cluster) are dropped.
    """
    from ..spec import ExperimentSpec

    payload = spec.model_dump()
    payload.update(
        estimators=(), treatment=spec.treatment or "treated", treatment_start=None, cohort=None,
        pre_period=None, post_period=None, covariates=(), weights=None, plan=None, data=None,
        aggregate=None, cluster=spec.cluster if spec.cluster in (None, spec.unit) else None,
    )
    if spec.design in ("multi_cell", "holdback"):
        # each window is read out for one cell against the control with the cell's own estimator
        payload.update(design="did", cell=None, spend=None, options={})
    return ExperimentSpec(**payload)


def _window_frame(Yw: np.ndarray, units: np.ndarray, times: np.ndarray, treated: np.ndarray, P: int,
                  spec: Any, effect: float) -> pd.DataFrame:
    n, T = Yw.shape
    post = np.arange(T) >= P
    D = treated[:, None] & post[None, :]
    Y = np.where(D, Yw * (1.0 + effect), Yw)
    return pd.DataFrame({
        spec.unit: np.repeat(units, T), spec.time: np.tile(times, n),
        spec.outcome: Y.ravel(), spec.treatment: D.ravel().astype(int),
    })


def _fit_window(Yw: np.ndarray, units: np.ndarray, times: np.ndarray, treated: np.ndarray, P: int,
                spec: Any, estimator: str, options: Mapping[str, Any], effect: float) -> Any:
    from ..estimators import get_estimator

    frame = _window_frame(Yw, units, times, treated, P, spec, effect)
    return get_estimator(estimator, **options).fit(frame, spec)


def _fit_args(args: tuple[Any, ...]) -> tuple[float, float, float, float, float, str]:
    return _fit_task(*args)


def _fit_task(Yw: np.ndarray, units: np.ndarray, times: np.ndarray, treated: np.ndarray, P: int,
              spec: Any, estimator: str, options: Mapping[str, Any]) -> tuple[float, float, float, float, float, str]:
    res = _fit_window(Yw, units, times, treated, P, spec, estimator, options, 0.0)
    m = float(Yw[treated, P:].mean())
    if estimator == "bsts":
        m *= int(treated.sum())  # bsts reads the treated units' summed series
    return float(res.estimate), float(res.ci[0]), float(res.ci[1]), float(res.se), m, str(res.inference)


def _window_data(Y: np.ndarray, design: np.ndarray, start: int, L: int, P: int) -> tuple[np.ndarray, np.ndarray]:
    keep = np.flatnonzero(design >= 0)
    if not (design == 1).any() or not (design == 0).any():
        raise SpecError("every design needs at least one treated and one control geo.")
    return keep, Y[keep, start - P : start + L]


def _readout_opts(spec: Any, estimator: str) -> dict[str, Any]:
    opts = readout_options(spec, estimator)
    if estimator in ("synthetic_control", "sdid") and "n_reps" not in opts:
        opts["n_reps"] = READOUT_PLACEBO_REPS
    if estimator == "bsts" and "n_paths" not in opts:
        opts["n_paths"] = 200
    return opts


def readout_window_fit(Y: np.ndarray, design: np.ndarray, *, units: Sequence[Any], times: Sequence[Any], spec: Any,
                       estimator: str, start: int, duration: int, pre_periods: int, effect: float = 0.0,
                       options: Mapping[str, Any] | None = None) -> Any:
    """Run the readout estimator on one historical window, with a lift injected.

    The window holds the ``pre_periods`` periods before ``start`` and ``duration`` from it;
    the geos with ``design == 1`` are treated in its post part (their KPI multiplied by
    ``1 + effect``), those with 0 are controls, -1 are left out.

    Returns
    -------
    EffectEstimate
        What :func:`causal_kit.estimate` returns for that window and method.

    Examples
    --------
    >>> import numpy as np
    >>> import causal_kit as ck
    >>> rng = np.random.default_rng(0)
    >>> Y = 100 + rng.normal(0, 1, (12, 60))
    >>> spec = ck.ExperimentSpec(name="g", design="did", outcome="kpi", unit="geo", time="t",
    ...                          treatment="treated")
    >>> res = readout_window_fit(Y, np.array([1] * 4 + [0] * 8), units=[f"g{i}" for i in range(12)],
    ...     times=list(range(60)), spec=spec, estimator="did", start=40, duration=20, pre_periods=40)
    >>> res.method
    'did'
    """
    L, P = int(duration), int(pre_periods)
    design = np.asarray(design)
    keep, Yw = _window_data(np.asarray(Y, dtype=float), design, int(start), L, P)
    opts = _readout_opts(spec, estimator) if options is None else dict(options)
    return _fit_window(Yw, np.asarray(units)[keep], np.asarray(times)[start - P : start + L], design[keep] == 1,
                       P, _window_spec(spec), estimator, opts, float(effect))


def simulate_readout(
    Y: np.ndarray,
    designs: np.ndarray,
    *,
    units: Sequence[Any],
    times: Sequence[Any],
    spec: Any,
    estimators: Sequence[str],
    durations: Sequence[int],
    pre_periods: int,
    n_windows: int = 20,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> dict[tuple[str, int], ReadoutSimOutput]:
    """Simulate power with the readout's own estimator and inference on historical windows.

    For every estimator, duration, design (treatment cell) and window, the window's long frame
    (unit, time, outcome, treatment = 1 for the treated geos in the window's post part) is
    fitted once by ``get_estimator(name, **options).fit(frame, spec)`` with the readout spec
    (``estimators`` cleared, the spec's seed), exactly as :func:`causal_kit.estimate` would.
    The lift grid follows by linearity (:class:`ReadoutSimOutput`).

    Parameters
    ----------
    Y : (N, T) array
        Historical KPI, geos x periods.
    designs : (D, N) int array
        1 = treated, 0 = control, -1 = not used.
    units, times : sequences
        Geo labels (length N) and period labels (length T) written into the window frames.
    spec : ExperimentSpec
        The readout spec (roles, alpha, seed, ``options`` / ``estimators[i].options``).
        Synthetic control and SDID run with ``n_reps = READOUT_PLACEBO_REPS`` placebo
        replicates unless the options set ``n_reps``.
    estimators : sequence of {"did", "synthetic_control", "sdid"}
    durations : sequence of int
    pre_periods : int
    n_windows : int
        Historical windows per duration (evenly spaced, the most recent included).
    n_jobs : int
        Local workers (or the active Dask cluster) over the (estimator, duration, design,
        window) fits; results do not
        depend on it (every fit uses the spec's seed).
    progress : bool, optional
        tqdm progress bar; by default shown for 30 fits or more when stderr is a terminal.

    Returns
    -------
    dict
        ``{(estimator, duration): ReadoutSimOutput}``.

    Examples
    --------
    >>> import numpy as np
    >>> import causal_kit as ck
    >>> Y = 100 + np.random.default_rng(0).normal(0, 1, (12, 90))
    >>> spec = ck.ExperimentSpec(name="g", design="did", outcome="kpi", unit="geo", time="t",
    ...                          treatment="treated")
    >>> sims = simulate_readout(Y, np.array([[1] * 4 + [0] * 8]), units=[f"g{i}" for i in range(12)],
    ...     times=list(range(90)), spec=spec, estimators=["did"], durations=[14], pre_periods=28,
    ...     n_windows=3)
    >>> sims["did", 14].tau0.shape
    (1, 3)
    """
    bad = [e for e in estimators if e not in READOUT_ESTIMATORS]
    if bad:
        raise SpecError(
            f"The 'estimators' parameter of simulate_readout must list only {', '.join(READOUT_ESTIMATORS)}. "
            f"Got {bad!r} instead."
        )
    Y = np.asarray(Y, dtype=float)
    designs = np.atleast_2d(np.asarray(designs))
    units, times = np.asarray(units), np.asarray(times)
    P = int(pre_periods)
    wspec = _window_spec(spec)
    opts = {e: _readout_opts(spec, e) for e in estimators}
    starts = {int(L): window_starts(Y.shape[1], int(L), P, n_windows) for L in durations}
    tasks = []
    # slow estimators first, so the workers finish together
    for est in sorted(estimators, key=_READOUT_COST.__getitem__):
        for L in starts:
            for d, design in enumerate(designs):
                for j, s in enumerate(starts[L]):
                    keep, Yw = _window_data(Y, design, int(s), L, P)
                    tasks.append(((est, L, d, j), (Yw, units[keep], times[s - P : s + L], design[keep] == 1,
                                                   P, wspec, est, opts[est])))
    show = (len(tasks) >= 30 and sys.stderr.isatty()) if progress is None else bool(progress)
    results = map_tasks(_fit_args, [args for _, args in tasks], n_jobs=n_jobs,
                        progress="readout fits" if show else None)
    arrays: dict[tuple[str, int], np.ndarray] = {
        (e, L): np.empty((designs.shape[0], len(starts[L]), 5)) for e in estimators for L in starts
    }
    text: dict[str, str] = {}
    for (key, _), res in zip(tasks, results):
        est, L, d, j = key
        arrays[est, L][d, j] = res[:5]
        text.setdefault(est, res[5])
    return {
        (e, L): ReadoutSimOutput(
            estimator=e, tau0=a[..., 0], ci_low=a[..., 1], ci_high=a[..., 2], se0=a[..., 3], baseline=a[..., 4],
            starts=starts[L], duration=L, pre_periods=P, alpha=spec.alpha, inference=text.get(e, ""),
        )
        for (e, L), a in arrays.items()
    }


def mde_from_sim(out: SimOutput | ReadoutSimOutput, target_power: float, max_effect: float = 1.0, n_grid: int = 4001) -> np.ndarray:
    """MDE per design: the smallest lift whose simulated power reaches ``target_power``.

    Power is evaluated on a fine grid of ``n_grid`` lifts in ``[0, max_effect]``; the MDE is
    interpolated linearly between grid points. NaN when the target is not reached.

    Examples
    --------
    >>> import numpy as np
    >>> Y = 100 + np.random.default_rng(1).normal(0, 1, (20, 200))
    >>> out = simulate_power(Y, np.array([[1] * 10 + [0] * 10]), duration=14, pre_periods=28, n_windows=20)
    >>> float(mde_from_sim(out, 0.8)[0]) < 0.02
    True
    """
    grid = np.linspace(0.0, max_effect, n_grid)
    power = out.evaluate(grid)["reject"].mean(axis=1)  # (D, E)
    mde = np.full(power.shape[0], np.nan)
    for d in range(power.shape[0]):
        hit = np.flatnonzero(power[d] >= target_power)
        hit = hit[hit > 0]
        if hit.size:
            k = hit[0]
            p0, p1 = power[d, k - 1], power[d, k]
            frac = (target_power - p0) / (p1 - p0) if p1 > p0 else 1.0
            mde[d] = grid[k - 1] + frac * (grid[k] - grid[k - 1])
    return mde
