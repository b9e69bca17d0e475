"""Ring (distance-band) difference-in-differences with spillover onto untreated neighbours.

Following Butts (2021, "Difference-in-differences estimation with spatial spillovers"), an
untreated unit whose nearest treated unit lies within the ``b``-th distance band (or ``b``
graph hops, with ``spec.neighbors``) is *exposed*; the TWFE regression

.. math:: y_{it} = \\alpha_i + \\lambda_t + \\tau D_{it} + \\sum_b \\delta_b R_{b,it} + e_{it}

with ``R_{b,it}`` = 1 when unit ``i`` is untreated at ``t`` and in ring ``b`` of the units treated
at ``t``, identifies the direct effect ``tau`` on the treated and the spillover ``delta_b`` on ring
``b`` against the far controls (beyond the last band), which the treatment does not reach. A naive
DiD that uses every untreated unit as a control is biased by ``-share_b * delta_b`` when the
spillover is real: both numbers are reported. With ``spec.spillover.buffer`` the exposed units are
dropped instead (a donut DiD: the direct effect only). Standard errors are CRV1 clustered by
``spec.cluster`` (default the unit) or Conley spatial-HAC (``vcov="conley"``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from .._typing import ConleyKernel, PanelVcov, check_fraction, check_option
from ..errors import IdentificationError, SpecError
from ..result import Diagnostic, EffectEstimate, make_lineage
from ._did_common import fast_t_ci as t_ci
from ._did_common import load_panel, trends_table, twfe_ols

__all__ = ["RingDiD"]


def ring_labels(spec: Any) -> list[str]:
    """Readable label of each ring: '0-15 km', '15-30 km' or '1 hop', '2 hops'."""
    cfg = spec.spillover
    if spec.coordinates is not None:
        edges = (0.0, *(cfg.bands_km if cfg else (25.0,)))
        return [f"{a:g}-{b:g} km" for a, b in zip(edges, edges[1:])]
    hops = cfg.hops if cfg else 1
    return [f"{h} hop{'s' if h > 1 else ''}" for h in range(1, hops + 1)]


def panel_rings(pdat: Any, spec: Any) -> tuple[np.ndarray, np.ndarray]:
    """Ring of every unit in every period ``(N, T)`` (-1 treated, 0 far) and each unit's last distance."""
    from ..inference.exposure import exposure_rings, read_neighbors, unit_coordinates

    panel = pdat.panel
    cfg = spec.spillover
    kw: dict[str, Any]
    if spec.coordinates is not None:
        lat, lon = unit_coordinates(pdat.prepared.frame, spec.unit, spec.coordinates, panel.units)
        kw = dict(lat=lat, lon=lon, bands_km=cfg.bands_km if cfg else (25.0,))
    else:
        kw = dict(adjacency=read_neighbors(spec.neighbors, panel.units), hops=cfg.hops if cfg else 1)
    rings = np.zeros(panel.D.shape, dtype=int)
    dist = np.full(panel.n_units, np.inf)
    cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
    for t in range(panel.n_periods):
        key = panel.D[:, t].tobytes()
        if key not in cache:
            cache[key] = exposure_rings(panel.D[:, t], **kw) if panel.D[:, t].any() else (
                np.zeros(panel.n_units, int), np.full(panel.n_units, np.inf))
        rings[:, t], d = cache[key]
        if panel.D[:, t].any():
            dist = d
    return rings, dist


def _coef_rows(terms: list[str], beta: np.ndarray, V: np.ndarray, alpha: float, df: float | None,
               n_units: list[int]) -> list[dict[str, Any]]:
    rows = []
    for j, term in enumerate(terms):
        se = float(np.sqrt(V[j, j]))
        ci, p = t_ci(float(beta[j]), se, alpha, df)
        rows.append({"term": term, "estimate": float(beta[j]), "se": se, "ci_low": ci[0], "ci_high": ci[1],
                     "p_value": p, "n_units": n_units[j]})
    return rows


class RingDiD:
    """Difference-in-differences with distance-band (ring) spillover terms (Butts 2021).

    Needs ``spec.coordinates`` (rings from ``spec.spillover.bands_km``) or ``spec.neighbors``
    (rings of ``spec.spillover.hops`` graph hops), ``spec.time`` and the per-period treatment.

    Parameters
    ----------
    vcov : {"cluster", "conley"}
        CRV1 clustered by ``spec.cluster`` (default the unit; t(G-1) intervals) or Conley
        spatial-HAC (normal intervals; needs ``spec.coordinates``).
    conley_cutoff_km : float
        Conley distance cutoff (default 100 km).
    conley_kernel : {"bartlett", "uniform"}
        Conley spatial kernel.
    conley_lag : int, optional
        Conley serial lag within units; default every period.
    alpha : float, optional
        Overrides ``spec.alpha``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> data = ck.datasets.load("spillover_sim")
    >>> spec = ck.ExperimentSpec(name="ring", design="spillover", outcome="y", unit="geo", time="period",
    ...     treatment="treated", coordinates=["lat", "lon"], spillover={"bands_km": [15, 30]})
    >>> res = RingDiD().fit(data, spec)
    >>> res.tables["effects"]["term"].tolist()
    ['direct', 'spillover 0-15 km', 'spillover 15-30 km', 'naive DiD']
    """

    def __init__(self, *, vcov: str = "cluster", conley_cutoff_km: float = 100.0, conley_kernel: str = "bartlett",
                 conley_lag: int | None = None, alpha: float | None = None) -> None:
        self.vcov = vcov
        self.conley_cutoff_km = conley_cutoff_km
        self.conley_kernel = conley_kernel
        self.conley_lag = conley_lag
        self.alpha = alpha

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the direct and ring spillover effects; see the class docstring."""
        check_option(self.vcov, PanelVcov, "vcov", "RingDiD")
        check_option(self.conley_kernel, ConleyKernel, "conley_kernel", "RingDiD")
        if self.alpha is not None:
            check_fraction(self.alpha, "alpha", "RingDiD")
        if spec.time is None:
            raise SpecError("RingDiD needs spec.time (a panel); for one row per unit from a randomised design "
                            "use the 'exposure_mapping' estimator.")
        if spec.coordinates is None and spec.neighbors is None:
            raise SpecError("RingDiD needs spec.coordinates [lat, lon] or spec.neighbors (an adjacency list file).")
        if self.vcov == "conley" and spec.coordinates is None:
            raise SpecError("RingDiD(vcov='conley') needs spec.coordinates: [latitude column, longitude column].")
        alpha = spec.alpha if self.alpha is None else float(self.alpha)
        pdat = load_panel(data, spec, "RingDiD", covariates=False)
        panel = pdat.panel
        rings, dist = panel_rings(pdat, spec)
        labels = ring_labels(spec)
        n_rings = len(labels)
        buffer = bool(spec.spillover and spec.spillover.buffer)
        exposed_units = (rings > 0).any(axis=1)
        full = pdat
        naive = twfe_ols(full, panel.D[..., None].astype(float), ["treated_post"])
        if buffer:
            observed = pdat.observed & ~exposed_units[:, None]
            kept, codes = np.unique(pdat.cluster[observed], return_inverse=True)
            cluster = np.full(observed.shape, -1)
            cluster[observed] = codes
            pdat = replace(pdat, observed=observed, panel=replace(panel, Y=np.where(observed, panel.Y, np.nan)),
                           cluster=cluster, n_clusters=len(kept))
            present = []
        else:
            present = [b for b in range(1, n_rings + 1) if (rings == b).any()]
        far = (~panel.treated) & ~exposed_units
        if int(far.sum()) < 2:
            raise IdentificationError(
                f"only {int(far.sum())} untreated unit(s) lie beyond the last ring ({labels[-1]}): the far controls "
                "that identify the effects are missing. Use narrower spillover bands or fewer hops.")
        regs = [panel.D.astype(float)] + [(rings == b).astype(float) for b in present]
        names = ["treated_post"] + [f"ring_{b}" for b in present]
        fit = twfe_ols(pdat, np.stack(regs, axis=2), names)
        V, df, how = self._vcov(fit, pdat, spec)
        Vn, dfn, _ = self._vcov(naive, full, spec)
        counts = [int(panel.treated.sum())] + [int((rings == b).any(axis=1).sum()) for b in present]
        rows = _coef_rows(["direct"] + [f"spillover {labels[b - 1]}" for b in present], fit.beta, V, alpha, df, counts)
        rows += _coef_rows(["naive DiD"], naive.beta, Vn, alpha, dfn, [int(panel.treated.sum())])
        effects = pd.DataFrame(rows)
        beta, se = float(fit.beta[0]), float(np.sqrt(V[0, 0]))
        ci, p = t_ci(beta, se, alpha, df)
        unit_table = pd.DataFrame({
            "unit": panel.units, "ring": np.where(panel.treated, -1, rings.max(axis=1)),
            "distance": dist, "role": np.where(panel.treated, "treated", np.where(exposed_units, "exposed", "far"))})
        diags = self._diagnostics(effects, present, labels, buffer, int(far.sum()), alpha)
        n_cohorts = len(np.unique(panel.first_treated[panel.treated]))
        diags.append(Diagnostic(
            "single_adoption", "pass" if n_cohorts == 1 else "warn",
            "One adoption date: the ring TWFE compares treated and ring units with far units only."
            if n_cohorts == 1 else
            f"{n_cohorts} adoption dates: with staggered adoption and effects that change over time, TWFE also "
            "compares later- with earlier-treated units and can be biased; read the effects as a weighted average.",
            statistic=float(n_cohorts), threshold=1.0, assumption="specification"))
        treated_cells = panel.D & pdat.observed
        mean_treated = float(panel.Y[treated_cells].mean())
        return EffectEstimate(
            method="spillover", design=spec.design, estimand="ATT (direct effect on the treated)", estimate=beta,
            se=se, ci=(float(ci[0]), float(ci[1])), p_value=float(p), alpha=alpha, n_obs=fit.n_obs,
            n_units=panel.n_units, n_dropped=pdat.prepared.n_dropped, dropped_reasons=pdat.prepared.dropped_reasons,
            diagnostics=tuple(diags), tables={"effects": effects, "units": unit_table, "trends": trends_table(panel)},
            lineage=make_lineage(spec, pdat.prepared.fingerprint), inference=how, df_resid=df,
            outcome=spec.outcome or "", baseline=mean_treated - beta, exposure=float(treated_cells.sum()),
            details={"vcov": self.vcov, "buffer": buffer, "n_far": int(far.sum()),
                     "n_exposed": int((exposed_units & ~panel.treated).sum()), "rings": labels,
                     "naive_estimate": float(naive.beta[0])},
            label="Ring DiD (direct and spillover effects)" if not buffer else "Donut DiD (exposed units dropped)",
        )

    def _vcov(self, fit: Any, pdat: Any, spec: Any) -> tuple[np.ndarray, float | None, str]:
        if self.vcov == "cluster":
            g = fit.n_clusters
            return fit.vcov, float(g - 1), (
                f"CRV1 cluster-robust SE clustered by {pdat.cluster_col!r} ({g} clusters), fixest small-sample "
                "factor; t(G-1) CI")
        from ..inference.conley import conley_vcov
        from ..inference.exposure import unit_coordinates

        panel = pdat.panel
        lat, lon = unit_coordinates(pdat.prepared.frame, spec.unit, spec.coordinates, panel.units)
        ui, ti = np.nonzero(pdat.observed)
        lag = panel.n_periods - 1 if self.conley_lag is None else int(self.conley_lag)
        V = conley_vcov(fit.X, fit.resid, lat[ui], lon[ui], ti, ui, cutoff_km=float(self.conley_cutoff_km),
                        kernel=self.conley_kernel, lag_cutoff=lag)
        return V, None, (f"Conley spatial-HAC SE ({self.conley_kernel} kernel, {float(self.conley_cutoff_km):g} km, "
                         f"serial lag {lag} within units); normal CI")

    @staticmethod
    def _diagnostics(effects: pd.DataFrame, present: list[int], labels: list[str], buffer: bool, n_far: int,
                     alpha: float) -> list[Diagnostic]:
        diags = []
        if buffer:
            diags.append(Diagnostic(
                "spillover", "not_applicable",
                "Exposed units were dropped (buffer), so the spillover is not estimated; the direct effect compares "
                "treated with far units only.", assumption="interference"))
        elif not present:
            diags.append(Diagnostic(
                "spillover", "not_applicable",
                f"No untreated unit lies within {labels[-1]} of a treated unit, so there is no spillover to estimate.",
                assumption="interference"))
        else:
            sp = effects[effects["term"].str.startswith("spillover")]
            worst = sp.loc[sp["p_value"].idxmin()]
            sig = bool(worst["p_value"] < alpha)
            diags.append(Diagnostic(
                "spillover", "warn" if sig else "pass",
                (f"Untreated units {worst['term'].removeprefix('spillover ')} from treated units moved by "
                 f"{worst['estimate']:.3g} (p = {worst['p_value']:.3g}): treatment spills over, so a DiD that uses "
                 "them as controls is biased; read the direct effect from this estimator.") if sig else
                (f"No ring shows a spillover distinguishable from zero at {alpha:g} (smallest p = "
                 f"{worst['p_value']:.3g}); near and far controls moved alike."),
                statistic=float(worst["estimate"]), p_value=float(worst["p_value"]), threshold=alpha,
                assumption="interference"))
            direct = float(effects.loc[effects["term"] == "direct", "estimate"].iloc[0])
            naive = float(effects.loc[effects["term"] == "naive DiD", "estimate"].iloc[0])
            diags.append(Diagnostic(
                "naive_bias", "warn" if sig else "pass",
                f"A DiD ignoring spillover estimates {naive:.3g} against {direct:.3g} here "
                f"(difference {naive - direct:.3g}).", statistic=naive - direct, assumption="interference"))
        diags.append(Diagnostic(
            "far_controls", "pass" if n_far >= 10 else "warn",
            f"{n_far} untreated units lie beyond the last ring and serve as the comparison group"
            + ("." if n_far >= 10 else "; so few far controls make the estimates noisy. Narrow the bands."),
            statistic=float(n_far), threshold=10.0, assumption="interference"))
        return diags
