"""Exposure mappings: how much each unit is exposed to treated units nearby.

Two ways to say who can spill over onto whom:

* coordinates (latitude, longitude in decimal degrees) and distance bands in km: points are
  placed on the unit sphere and indexed with a k-d tree (``scipy.spatial.cKDTree``), so the
  nearest treated unit and every pair within a radius come from tree queries, not an n^2
  loop (10,000 units well under a second). A great-circle distance ``d`` maps to the chord
  ``2 sin(d / 2R)``, which the tree measures exactly.
* an adjacency list (``unit``, ``neighbor`` columns): a sparse graph; exposure rings are
  breadth-first hops from the treated units.

:func:`exposure_rings` turns either into one ring index per unit: ``-1`` treated, ``0``
far (beyond the last band: the clean controls), ``b >= 1`` the b-th ring around treated
units.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import CausalKitWarning, DataError

__all__ = [
    "EARTH_RADIUS_KM", "check_coordinates", "nearest_distance_km", "pairs_within_km", "read_neighbors",
    "hop_distance", "exposure_rings", "AsymmetricAdjacencyWarning", "unit_coordinates",
]

#: Mean Earth radius in km, the value of R ``conleyreg``'s haversine distance (so Conley SEs agree).
EARTH_RADIUS_KM = 6371.01
TREATED, FAR = -1, 0


class AsymmetricAdjacencyWarning(CausalKitWarning):
    """An adjacency list names a -> b without b -> a; it was made symmetric."""


def check_coordinates(lat: Any, lon: Any, columns: tuple[str, str] = ("lat", "lon"),
                      units: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Return latitude and longitude as float arrays; raise ``DataError`` when out of range.

    Examples
    --------
    >>> lat, lon = check_coordinates([40.0, 41.5], [-100.0, 170.0])
    >>> lat.tolist()
    [40.0, 41.5]
    """
    out = []
    for values, col, bound in ((lat, columns[0], 90.0), (lon, columns[1], 180.0)):
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise DataError(f"column {col!r} (spec.coordinates) is not numeric; give decimal degrees.") from None
        bad = ~np.isfinite(arr) | (np.abs(arr) > bound)
        if bad.any():
            who = np.asarray(units)[bad][:5].tolist() if units is not None else np.flatnonzero(bad)[:5].tolist()
            raise DataError(
                f"column {col!r} (spec.coordinates) has {int(bad.sum())} value(s) outside [-{bound:g}, {bound:g}] "
                f"or missing (units {who}); coordinates must be decimal degrees [latitude, longitude]"
                + (" (are latitude and longitude swapped?)" if bound == 90.0 else "") + "."
            )
        out.append(arr)
    return out[0], out[1]


def _sphere(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def _chord(km: Any) -> Any:
    return 2.0 * np.sin(np.minimum(np.asarray(km, dtype=float) / (2.0 * EARTH_RADIUS_KM), np.pi / 2))


def _arc_km(chord: Any) -> Any:
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord, dtype=float) / 2.0, 0.0, 1.0))


def nearest_distance_km(lat: np.ndarray, lon: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Great-circle km from each unit to the nearest *other* unit with ``source`` True (inf if none).

    Examples
    --------
    >>> d = nearest_distance_km(np.array([0.0, 0.0, 0.0]), np.array([0.0, 1.0, 3.0]),
    ...                         np.array([True, False, False]))
    >>> np.round(d, 1).tolist()
    [inf, 111.2, 333.6]
    """
    from scipy.spatial import cKDTree

    source = np.asarray(source, dtype=bool)
    out = np.full(len(lat), np.inf)
    idx = np.flatnonzero(source)
    if len(idx) == 0:
        return out
    pts = _sphere(lat, lon)
    tree = cKDTree(pts[idx])
    k = min(2, len(idx))
    dist, nn = tree.query(pts, k=k)
    dist, nn = dist.reshape(len(pts), k), nn.reshape(len(pts), k)
    first_is_self = idx[nn[:, 0]] == np.arange(len(pts))
    best = np.where(first_is_self, dist[:, 1] if k == 2 else np.inf, dist[:, 0])
    return np.where(np.isfinite(best), _arc_km(np.where(np.isfinite(best), best, 0.0)), np.inf)


def pairs_within_km(lat: np.ndarray, lon: np.ndarray, radius_km: float) -> Any:
    """Symmetric sparse adjacency (CSR, no self loops) of unit pairs within ``radius_km``.

    Examples
    --------
    >>> A = pairs_within_km(np.zeros(3), np.array([0.0, 0.1, 5.0]), 25.0)
    >>> A.toarray().astype(int).tolist()
    [[0, 1, 0], [1, 0, 0], [0, 0, 0]]
    """
    from scipy import sparse
    from scipy.spatial import cKDTree

    pts = _sphere(lat, lon)
    pairs = cKDTree(pts).query_pairs(float(_chord(radius_km)), output_type="ndarray")
    n = len(pts)
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def read_neighbors(source: Any, units: np.ndarray, *, label: str = "spec.neighbors") -> Any:
    """Sparse symmetric adjacency over ``units`` from an adjacency list (file path or frame).

    The list has columns ``unit`` and ``neighbor``. A pair listed one way only is made
    symmetric with an :class:`AsymmetricAdjacencyWarning` (spillover is taken to flow both
    ways); a unit that is not in the data raises ``DataError``.

    Examples
    --------
    >>> import pandas as pd
    >>> adj = pd.DataFrame({"unit": ["a", "b"], "neighbor": ["b", "c"]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     A = read_neighbors(adj, np.array(["a", "b", "c"]))
    >>> int(A.nnz)
    4
    """
    from scipy import sparse

    frame = _load_list(source, label)
    missing = [c for c in ("unit", "neighbor") if c not in frame.columns]
    if missing:
        raise DataError(f"{label} needs columns 'unit' and 'neighbor'; missing {missing} (has {list(frame.columns)}).")
    if frame[["unit", "neighbor"]].isna().any().any():
        raise DataError(f"{label} has {int(frame[['unit', 'neighbor']].isna().any(axis=1).sum())} row(s) with a "
                        "missing unit or neighbor; remove them.")
    lookup = {str(u): i for i, u in enumerate(units)}
    a = frame["unit"].astype(str).to_numpy()
    b = frame["neighbor"].astype(str).to_numpy()
    unknown = sorted(set(a[[x not in lookup for x in a]]) | set(b[[x not in lookup for x in b]]))
    if unknown:
        raise DataError(
            f"{label} references {len(unknown)} unit(s) that are not in the data's spec.unit column "
            f"(e.g. {unknown[:5]}); fix the ids or remove those rows."
        )
    ia = np.array([lookup[x] for x in a], dtype=int)
    ib = np.array([lookup[x] for x in b], dtype=int)
    keep = ia != ib
    n = len(units)
    A = sparse.csr_matrix((np.ones(int(keep.sum())), (ia[keep], ib[keep])), shape=(n, n))
    A.data[:] = 1.0
    one_way = A - A.multiply(A.T)
    n_one_way = int((one_way > 0).sum())
    if n_one_way:
        warnings.warn(
            f"{label} lists {n_one_way} pair(s) in one direction only (asymmetric adjacency); treating them as "
            "neighbours both ways. List each pair both ways to silence this.",
            AsymmetricAdjacencyWarning, stacklevel=2,
        )
    A = ((A + A.T) > 0).astype(float).tocsr()
    return A


def _load_list(source: Any, label: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    from pathlib import Path

    path = Path(str(source))
    if not path.exists():
        raise DataError(f"{label} file {str(source)!r} does not exist; give a CSV or Parquet adjacency list.")
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path)


def hop_distance(adjacency: Any, source: np.ndarray, max_hops: int) -> np.ndarray:
    """Graph hops from each unit to the nearest source unit (0 for sources, ``max_hops + 1`` beyond).

    Examples
    --------
    >>> from scipy import sparse
    >>> A = sparse.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    >>> hop_distance(A, np.array([True, False, False]), 1).tolist()
    [0, 1, 2]
    """
    source = np.asarray(source, dtype=bool)
    hops = np.where(source, 0, max_hops + 1)
    frontier = source.astype(float)
    for h in range(1, max_hops + 1):
        reached = (adjacency @ frontier) > 0
        new = reached & (hops > h)
        hops[new] = h
        frontier = new.astype(float)
    return hops


def exposure_rings(treated: np.ndarray, *, lat: np.ndarray | None = None, lon: np.ndarray | None = None,
                   bands_km: tuple[float, ...] = (25.0,), adjacency: Any = None,
                   hops: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Ring index (``-1`` treated, ``0`` far, ``b`` ring b) and distance of each unit to treatment.

    The distance is in km with coordinates and in hops with an adjacency.

    Examples
    --------
    >>> ring, dist = exposure_rings(np.array([True, False, False]), lat=np.zeros(3),
    ...                             lon=np.array([0.0, 0.1, 2.0]), bands_km=(25.0,))
    >>> ring.tolist()
    [-1, 1, 0]
    """
    treated = np.asarray(treated, dtype=bool)
    if adjacency is not None:
        dist = hop_distance(adjacency, treated, hops).astype(float)
        ring = np.where(dist <= hops, dist, 0).astype(int)
    else:
        dist = nearest_distance_km(lat, lon, treated)
        edges = np.asarray(bands_km, dtype=float)
        ring = np.searchsorted(edges, dist, side="left") + 1  # (0, e1] -> 1, (e1, e2] -> 2
        ring = np.where(dist > edges[-1], 0, ring)
    ring = np.where(treated, TREATED, ring)
    return ring.astype(int), dist


def unit_coordinates(frame: pd.DataFrame, unit_col: str, columns: tuple[str, str],
                     units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of each of ``units`` (in that order) from a long frame.

    Raises ``DataError`` when a unit's coordinates change between rows, or are out of range.

    Examples
    --------
    >>> f = pd.DataFrame({"g": ["a", "a", "b"], "la": [1.0, 1.0, 2.0], "lo": [3.0, 3.0, 4.0]})
    >>> unit_coordinates(f, "g", ("la", "lo"), np.array(["a", "b"]))[0].tolist()
    [1.0, 2.0]
    """
    lat_col, lon_col = columns
    grouped = frame.groupby(unit_col, sort=False)[[lat_col, lon_col]]
    spread = grouped.nunique(dropna=False)
    moving = spread.index[(spread > 1).any(axis=1)]
    if len(moving):
        raise DataError(
            f"columns {list(columns)} (spec.coordinates) change within {len(moving)} unit(s) of "
            f"{unit_col!r} (e.g. {moving[:5].tolist()}); a unit needs one location. Fix the coordinates."
        )
    first = grouped.first().reindex(units)
    return check_coordinates(first[lat_col].to_numpy(), first[lon_col].to_numpy(), columns, units)
