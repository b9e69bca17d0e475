"""A multi-cell geo test with a known lift per cell (and spend, for iROAS)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import SpecError
from .simulate import simulate_geo_panel


def simulate_multi_cell(
    n_geos: int = 40,
    n_days: int = 200,
    cells: Mapping[str, float] | None = None,
    n_per_cell: int = 8,
    test_days: int = 28,
    seed: int = 0,
) -> pd.DataFrame:
    """A geo panel where each treatment cell gets its own multiplicative lift.

    Built on :func:`~causal_kit.datasets.simulate_geo_panel` (no lift), then ``n_per_cell``
    geos drawn for each cell (seeded) get ``kpi * (1 + lift)`` over the last ``test_days``
    days; the other geos are the ``control`` cell. ``spend`` is the geo's ``cost`` times the
    cell's lift divided by 0.04 during the test (more spend buys more lift), 0 elsewhere.

    Parameters
    ----------
    n_geos, n_days : int
        Panel size.
    cells : mapping of cell name to lift, optional
        Default ``{"low": 0.02, "high": 0.06}``.
    n_per_cell : int
        Geos per treatment cell.
    test_days : int
        Length of the test at the end of the panel.
    seed : int
        Seed of the panel and of the cell draw.

    Returns
    -------
    DataFrame
        ``geo``, ``date``, ``kpi``, ``cost``, ``cell``, ``treated`` (1 for treatment-cell geos
        during the test) and ``spend``.

    Examples
    --------
    >>> from causal_kit.datasets import simulate_multi_cell
    >>> df = simulate_multi_cell(seed=1)
    >>> sorted(df["cell"].unique())
    ['control', 'high', 'low']
    """
    lifts = dict(cells or {"low": 0.02, "high": 0.06})
    if len(lifts) < 1 or n_per_cell < 1 or n_per_cell * len(lifts) >= n_geos:
        raise SpecError(f"simulate_multi_cell needs n_per_cell * cells < n_geos; got {n_per_cell} x {len(lifts)} "
                        f"cells with {n_geos} geos.")
    if not 1 <= test_days < n_days:
        raise SpecError(f"test_days must lie in [1, n_days); got {test_days} with n_days={n_days}.")
    df = simulate_geo_panel(n_geos=n_geos, n_days=n_days, seed=seed)
    geos = np.sort(df["geo"].unique())
    rng = np.random.default_rng(seed + 1)
    drawn = rng.permutation(geos)[: n_per_cell * len(lifts)]
    cell_of = {g: "control" for g in geos}
    for i, name in enumerate(lifts):
        cell_of.update({g: name for g in drawn[i * n_per_cell:(i + 1) * n_per_cell]})
    start = df["date"].max() - pd.Timedelta(days=test_days - 1)
    cell = df["geo"].map(cell_of)
    lift = cell.map({**lifts, "control": 0.0}).to_numpy()
    on = (df["date"] >= start).to_numpy() & (cell != "control").to_numpy()
    return df.assign(
        kpi=np.where(on, df["kpi"] * (1 + lift), df["kpi"]),
        cell=cell, treated=on.astype(int), spend=np.where(on, df["cost"] * lift / 0.04, 0.0),
    )
