"""Mix versus rate decomposition of a ratio or mean metric between two periods (or regions).

The metric is ``M = sum(numerator) / sum(denominator)`` (a mean when there is no
denominator). Over segments ``s`` with shares ``w_s`` of the denominator and rates ``r_s``,
``M = sum_s w_s r_s``, and the change splits exactly into

* **mix**: ``sum_s (w1_s - w0_s) * (r0_s + r1_s) / 2`` -- the segments' weights moved;
* **rate**: ``sum_s (w0_s + w1_s) / 2 * (r1_s - r0_s)`` -- the rates within segments moved.

This midpoint split is the two-factor Shapley value, so it does not depend on which period
is the base. The base-weighted three-term view (mix at before-rates, rate at before-weights
and their interaction ``sum dw * dr``) is reported alongside, so the interaction is visible.

Several dimensions: the mix of the full cross-segmentation is split across dimensions by
Shapley values of the game ``v(S) = mix when segmenting by the dimensions in S only``
(exact up to ``max_exact`` dimensions, sampled with a seed above); pairwise Shapley
interaction indices show which dimensions overlap. A segment present in only one period
takes that period's rate in the other, so its whole contribution is mix.

These are accounting identities, not causal effects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SpecError
from ._aggregate import Cells, aggregate_cells
from .result import Decomposition
from .shapley import shapley_values

__all__ = ["mix_rate"]

ACCOUNTING_NOTE = ("A decomposition is accounting, not causation: it says where the change sits, not what caused "
                   "it. Back a driver with a causal graph or an experiment before acting on it.")


def _group(cells: Cells, mask: int) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator sums (2 x groups) for the coarsening by the dimensions in ``mask``."""
    key = np.zeros(len(cells.codes), dtype=np.int64)
    for j in range(len(cells.dims)):
        if mask >> j & 1:
            key = key * len(cells.levels[j]) + cells.codes[:, j]
    if mask == 0:
        return cells.num.sum(axis=1, keepdims=True), cells.den.sum(axis=1, keepdims=True)
    key, _ = pd.factorize(key)
    size = int(key.max()) + 1
    num = np.vstack([np.bincount(key, weights=cells.num[t], minlength=size) for t in (0, 1)])
    den = np.vstack([np.bincount(key, weights=cells.den[t], minlength=size) for t in (0, 1)])
    return num, den


def _shares_rates(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shares of the denominator and rates per group; an absent group takes the other period's rate."""
    w = den / den.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    r[0] = np.where(np.isnan(r[0]), r[1], r[0])
    r[1] = np.where(np.isnan(r[1]), r[0], r[1])
    return w, r


def _split(num: np.ndarray, den: np.ndarray) -> dict[str, np.ndarray]:
    w, r = _shares_rates(num, den)
    dw, dr = w[1] - w[0], r[1] - r[0]
    wbar, rbar = w.mean(axis=0), r.mean(axis=0)
    return {"w0": w[0], "w1": w[1], "r0": r[0], "r1": r[1], "mix": dw * rbar, "rate": wbar * dr,
            "mix_base": dw * r[0], "rate_base": w[0] * dr, "interaction": dw * dr}


def _segment_table(cells: Cells, mask: int, metric_mid: float) -> pd.DataFrame:
    """Per-segment shares, rates and contributions for the coarsening by ``mask``."""
    num, den = _group(cells, mask)
    parts = _split(num, den)
    dims = [d for j, d in enumerate(cells.dims) if mask >> j & 1]
    # labels of each group: first cell of each group
    key = np.zeros(len(cells.codes), dtype=np.int64)
    for j in range(len(cells.dims)):
        if mask >> j & 1:
            key = key * len(cells.levels[j]) + cells.codes[:, j]
    gkey, _ = pd.factorize(key)
    first = np.full(int(gkey.max()) + 1, -1)
    first[gkey[::-1]] = np.arange(len(gkey))[::-1]
    labels = cells.frame().iloc[first][dims].reset_index(drop=True)
    dw = parts["w1"] - parts["w0"]
    # centred mix: the same total (shares sum to one in both periods) but each segment's sign
    # says whether moving weight into it raised or lowered the metric
    mix_centred = dw * ((parts["r0"] + parts["r1"]) / 2 - metric_mid)
    out = labels.assign(denominator_before=den[0], denominator_after=den[1], share_before=parts["w0"],
                        share_after=parts["w1"], rate_before=parts["r0"], rate_after=parts["r1"],
                        mix=mix_centred, rate=parts["rate"])
    out["total"] = out["mix"] + out["rate"]
    return out.sort_values("total", key=np.abs, ascending=False, ignore_index=True)


def mix_rate(data: pd.DataFrame, *, period: str, dimensions: list[str] | str, numerator: str,
             denominator: str | None = None, before: object = None, after: object = None,
             metric: str | None = None, max_exact: int = 8, n_permutations: int = 2000,
             seed: int | None = 0) -> Decomposition:
    """Split the change of a ratio or mean metric into segment mix and within-segment rates.

    Parameters
    ----------
    data : DataFrame
        Rows (or pre-aggregated segment rows) with the period, segment and metric columns.
        Not modified.
    period : str
        Column holding the two periods (or regions) compared.
    dimensions : list of str or str
        Segment columns (e.g. ``["route_type", "carrier"]``).
    numerator : str
        Numerator column of a ratio metric, or the value column of a mean metric.
    denominator : str, optional
        Denominator column. Omit for a mean (each row counts once). For a weighted mean pass
        ``numerator=value*weight`` and ``denominator=weight``.
    before, after : optional
        Labels of the two periods; default the two distinct values of ``period``, sorted.
    metric : str, optional
        Name shown in reports (default: the numerator, or numerator/denominator).
    max_exact : int, default 8
        Exact Shapley values across dimensions up to this many dimensions; sampled above.
    n_permutations : int, default 2000
        Permutations drawn when sampling Shapley values.
    seed : int or None, default 0
        Seed of the permutation sampler (only used above ``max_exact`` dimensions).

    Returns
    -------
    Decomposition
        Components ``mix: <dimension>`` (one per dimension) and ``rate``; they add up to the
        change exactly. Tables: ``summary`` (total mix, rate and the base-weighted three-term
        view with the interaction), ``shapley`` (per-dimension values, Monte Carlo SE),
        ``interactions`` (pairwise Shapley interaction index), ``cells`` (the full
        cross-segmentation) and ``segments: <dimension>`` for each dimension.

    Raises
    ------
    UnknownColumnError
        A named column is not in the data.
    ZeroDenominatorError
        A segment with rows has a zero denominator sum in a period.

    Examples
    --------
    >>> from causal_kit.explain import mix_rate, simulate_deliveries
    >>> df = simulate_deliveries(seed=1)
    >>> d = mix_rate(df, period="week", dimensions=["route_type", "carrier"], numerator="on_time")
    >>> abs(d.residual()) < 1e-12
    True
    """
    dims = [dimensions] if isinstance(dimensions, str) else list(dimensions)
    if max_exact > 16:
        raise SpecError(f"The 'max_exact' parameter of mix_rate must be at most 16. Got {max_exact} instead.")
    cells = aggregate_cells(data, period=period, before=before, after=after, dimensions=dims,
                            numerator=numerator, denominator=denominator)
    b_label, a_label = cells.labels
    m0, m1 = (cells.num.sum(axis=1) / cells.den.sum(axis=1)).tolist()
    n = len(dims)
    full = (1 << n) - 1

    def mix_of(mask: int) -> float:
        num, den = _group(cells, mask)
        return float(_split(num, den)["mix"].sum())

    sh = shapley_values(mix_of, n, max_exact=max_exact, n_permutations=n_permutations, seed=seed)
    total_mix = sh.coalition_values.get(full, mix_of(full))
    parts = _split(*_group(cells, full))
    rate = (m1 - m0) - total_mix
    comps = pd.DataFrame({"component": [f"mix: {d}" for d in dims] + ["rate"],
                          "value": list(sh.values) + [rate],
                          "se": list(sh.se if not sh.exact else np.full(n, np.nan)) + [np.nan]})
    summary = pd.DataFrame({
        "quantity": ["change", "mix", "rate", "mix (before rates)", "rate (before shares)", "interaction"],
        "value": [m1 - m0, total_mix, rate, parts["mix_base"].sum(), parts["rate_base"].sum(),
                  parts["interaction"].sum()]})
    shap = pd.DataFrame({"dimension": dims, "shapley_mix": sh.values, "mc_se": sh.se,
                         "own_mix": [sh.coalition_values.get(1 << j, mix_of(1 << j)) for j in range(n)]})
    tables = {"summary": summary, "shapley": shap}
    if sh.interactions is not None:
        rows = [(dims[i], dims[j], sh.interactions[i, j]) for i in range(n) for j in range(i + 1, n)]
        tables["interactions"] = pd.DataFrame(rows, columns=["dimension_a", "dimension_b", "interaction"])
    mid = (m0 + m1) / 2
    tables["cells"] = _segment_table(cells, full, mid)
    if n > 1:
        for j, d in enumerate(dims):
            tables[f"segments: {d}"] = _segment_table(cells, 1 << j, mid)
    notes = [ACCOUNTING_NOTE,
             "Mix and rate use midpoint weights (the two-factor Shapley split), so swapping the periods flips the "
             "signs and nothing else; the summary table also shows the before-weighted view with its interaction."]
    if n > 1:
        notes.append("Mix is split across dimensions by Shapley values of the mix each subset of dimensions "
                     + ("explains (exact)." if sh.exact else
                        f"explains, sampled over {sh.n_permutations} seeded permutations (see mc_se)."))
    absent = int(((cells.rows[0] == 0) | (cells.rows[1] == 0)).sum())
    if absent:
        notes.append(f"{absent} segment cell(s) occur in only one period; their whole contribution counts as mix.")
    name = metric or (numerator if denominator is None else f"{numerator} / {denominator}")
    return Decomposition("mix_rate", name, str(b_label), str(a_label), m0, m1, comps, tables, tuple(notes),
                         seed=seed)
