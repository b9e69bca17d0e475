"""Exposure mappings: rings from coordinates and from adjacency lists, and their named errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from causal_kit.errors import DataError
from causal_kit.inference.exposure import (
    AsymmetricAdjacencyWarning,
    check_coordinates,
    exposure_rings,
    nearest_distance_km,
    pairs_within_km,
    read_neighbors,
)


def _haversine(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl, dp = np.radians(lon2 - lon1), p2 - p1
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.01 * np.arcsin(np.sqrt(a))


def test_nearest_distance_matches_brute_force_haversine():
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(30, 45, 300), rng.uniform(-110, -80, 300)
    src = rng.random(300) < 0.2
    got = nearest_distance_km(lat, lon, src)
    D = _haversine(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    D[np.arange(300), np.arange(300)] = np.inf
    want = np.where(src[None, :], D, np.inf).min(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_pairs_within_matches_brute_force():
    rng = np.random.default_rng(2)
    lat, lon = rng.uniform(40, 41, 200), rng.uniform(-100, -99, 200)
    A = pairs_within_km(lat, lon, 20.0).toarray() > 0
    D = _haversine(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    want = (D <= 20.0) & ~np.eye(200, dtype=bool)
    assert (A == want).all()


def test_rings_from_coordinates_follow_the_bands():
    lat = np.zeros(5)
    lon = np.array([0.0, 0.05, 0.2, 0.4, 3.0])  # about 0, 5.6, 22, 44, 334 km from unit 0
    ring, dist = exposure_rings(np.array([1, 0, 0, 0, 0], bool), lat=lat, lon=lon, bands_km=(10.0, 25.0, 50.0))
    assert ring.tolist() == [-1, 1, 2, 3, 0]
    assert dist[1] == pytest.approx(5.56, abs=0.01)


def test_rings_from_adjacency_count_hops():
    units = np.array(["a", "b", "c", "d", "e"])
    adj = pd.DataFrame({"unit": ["a", "b", "c", "d", "b", "c", "d", "e"],
                        "neighbor": ["b", "c", "d", "e", "a", "b", "c", "d"]})
    A = read_neighbors(adj, units)
    ring, _ = exposure_rings(np.array([1, 0, 0, 0, 0], bool), adjacency=A, hops=2)
    assert ring.tolist() == [-1, 1, 2, 0, 0]


def test_unknown_neighbor_is_a_named_error():
    adj = pd.DataFrame({"unit": ["a", "a"], "neighbor": ["b", "zz"]})
    with pytest.raises(DataError, match=r"references 1 unit\(s\) that are not in the data.*'zz'"):
        read_neighbors(adj, np.array(["a", "b"]))


def test_asymmetric_adjacency_warns_and_symmetrises():
    adj = pd.DataFrame({"unit": ["a", "b"], "neighbor": ["b", "c"]})
    with pytest.warns(AsymmetricAdjacencyWarning, match="2 pair\\(s\\) in one direction only"):
        A = read_neighbors(adj, np.array(["a", "b", "c"]))
    assert (A.toarray() == A.toarray().T).all()


def test_symmetric_adjacency_is_silent():
    adj = pd.DataFrame({"unit": ["a", "b"], "neighbor": ["b", "a"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_neighbors(adj, np.array(["a", "b"]))


def test_missing_adjacency_file_and_columns_are_named(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_neighbors(str(tmp_path / "nope.csv"), np.array(["a"]))
    with pytest.raises(DataError, match="needs columns 'unit' and 'neighbor'"):
        read_neighbors(pd.DataFrame({"from": ["a"], "to": ["b"]}), np.array(["a", "b"]))


def test_coordinates_out_of_range_are_named():
    with pytest.raises(DataError, match=r"'lat' \(spec.coordinates\) has 1 value\(s\) outside \[-90, 90\].*swapped"):
        check_coordinates([95.0, 10.0], [0.0, 0.0], ("lat", "lon"))
    with pytest.raises(DataError, match=r"'lon' \(spec.coordinates\) has 1 value\(s\) outside \[-180, 180\]"):
        check_coordinates([10.0], [200.0], ("lat", "lon"))
    with pytest.raises(DataError, match="missing"):
        check_coordinates([np.nan], [0.0], ("lat", "lon"))
