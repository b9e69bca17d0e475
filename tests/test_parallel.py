"""causal_kit._parallel: one execution layer, the same seeded numbers serially, on joblib and on Dask."""

from __future__ import annotations

import socket
import time

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit._parallel import map_tasks, mask_url, spawn_seeds, use_execution
from causal_kit.errors import BackendError, SpecError
from causal_kit.spec import as_spec


def _draw(seed: np.random.SeedSequence, *, scale: np.ndarray) -> float:
    """A seeded task that reads a shared array."""
    return float(np.random.default_rng(seed).normal(size=scale.size) @ scale)


def _panel(n_units: int = 24, n_periods: int = 20, n_treated: int = 4, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    level = rng.normal(10, 2, n_units)[:, None]
    y = level + rng.normal(0, 1, (n_units, n_periods)) + np.linspace(0, 2, n_periods)
    y[:n_treated, 15:] += 1.5
    unit = np.repeat([f"u{i:02d}" for i in range(n_units)], n_periods)
    period = np.tile(np.arange(n_periods), n_units)
    treated = ((np.arange(n_units)[:, None] < n_treated) & (np.arange(n_periods)[None, :] >= 15)).ravel()
    return pd.DataFrame({"unit": unit, "period": period, "y": y.ravel(), "treated": treated.astype(int)})


def _dml_data(n: int = 600, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    d = (X[:, 0] + rng.normal(size=n) > 0).astype(int)
    y = 0.5 * d + X @ np.array([1.0, -0.5, 0.2, 0.0]) + rng.normal(size=n)
    return pd.DataFrame({"y": y, "d": d, **{f"x{j}": X[:, j] for j in range(4)}})


SDID_SPEC = dict(name="boot", design="sdid", outcome="y", treatment="treated", unit="unit", time="period", seed=11,
                 options={"se_method": "bootstrap", "n_reps": 24})
DML_SPEC = dict(name="dml", design="dml", outcome="y", treatment="d", covariates=["x0", "x1", "x2", "x3"], seed=4,
                options={"refute": False, "n_folds": 3})


# ----------------------------------------------------------------------------- local behaviour
def test_map_tasks_keeps_task_order_and_passes_shared_arguments() -> None:
    scale = np.arange(3.0)
    seeds = spawn_seeds(9, 6)
    serial = map_tasks(_draw, seeds, shared={"scale": scale})
    assert serial == [_draw(s, scale=scale) for s in seeds]
    assert map_tasks(_draw, seeds, n_jobs=2, shared={"scale": scale}) == serial


def test_use_execution_serial_overrides_n_jobs_and_rejects_unknown_backends() -> None:
    with use_execution("serial") as plan:
        assert plan.backend == "serial"
        assert map_tasks(abs, [-2, 3], n_jobs=4) == [2, 3]
    with pytest.raises(SpecError, match="'backend' parameter of execution must be one of"):
        with use_execution("spark"):  # type: ignore[arg-type]
            pass


def test_spec_execution_block_is_validated_and_not_hashed() -> None:
    base = dict(name="x", design="ab", outcome="y", treatment="t")
    with pytest.raises(SpecError, match="execution.address is a Dask scheduler"):
        as_spec({**base, "execution": {"backend": "joblib", "address": "tcp://127.0.0.1:1"}})
    serial = ck.ExperimentSpec(**base, execution={"backend": "serial", "n_jobs": 2})
    assert serial.spec_hash == ck.ExperimentSpec(**base).spec_hash


def test_mask_url_hides_passwords_in_urls_and_keyword_strings() -> None:
    assert mask_url("postgresql://ana:s3cret@db:5432/ck") == "postgresql://ana:***@db:5432/ck"
    assert "s3cret" not in mask_url("host=db user=ana password=s3cret")


@pytest.mark.slow
def test_spec_execution_serial_gives_the_same_sdid_bootstrap_as_joblib_threads() -> None:
    data = _panel()
    joblib_run = ck.estimate(data, {**SDID_SPEC, "options": {**SDID_SPEC["options"], "n_jobs": 2}})
    serial_run = ck.estimate(data, {**SDID_SPEC, "execution": {"backend": "serial"}})
    assert joblib_run.se == serial_run.se and joblib_run.estimate == serial_run.estimate


# ----------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


@pytest.mark.slow
def test_seeded_tasks_are_bit_identical_serial_joblib_and_dask(cluster) -> None:
    scale = np.linspace(0, 1, 50_000)  # large enough to be scattered once
    seeds = spawn_seeds(2024, 12)
    serial = map_tasks(_draw, seeds, shared={"scale": scale}, backend="serial")
    joblib_run = map_tasks(_draw, seeds, shared={"scale": scale}, n_jobs=2, backend="joblib")
    dask_run = map_tasks(_draw, seeds, shared={"scale": scale}, address=cluster.scheduler_address)
    assert serial == joblib_run == dask_run


@pytest.mark.slow
def test_shared_arrays_are_scattered_once_not_per_task(cluster, monkeypatch) -> None:
    from distributed import Client

    with Client(cluster) as client:
        calls = []
        original = client.scatter
        monkeypatch.setattr(client, "scatter", lambda value, **kw: calls.append(kw) or original(value, **kw))
        out = map_tasks(_draw, spawn_seeds(1, 8), shared={"scale": np.ones(40_000)})
    assert len(out) == 8
    assert len(calls) == 1 and calls[0]["broadcast"] is True


@pytest.mark.slow
def test_design_simulation_is_identical_on_dask(cluster) -> None:
    from causal_kit.design.simulation import simulate_power

    rng = np.random.default_rng(0)
    Y = 100 + rng.normal(0, 1, (16, 140))
    designs = np.array([[1] * 4 + [0] * 12, [0] * 12 + [1] * 4])
    for estimator in ("did", "synthetic_control"):
        kw = dict(estimator=estimator, duration=14, pre_periods=28, n_windows=8)
        serial = simulate_power(Y, designs, **kw)
        with use_execution("dask", address=cluster.scheduler_address):
            on_dask = simulate_power(Y, designs, **kw)
        np.testing.assert_array_equal(serial.tau0, on_dask.tau0)
        np.testing.assert_array_equal(serial.se2[0], on_dask.se2[0])


@pytest.mark.slow
def test_estimates_are_identical_with_spec_execution_on_dask(cluster) -> None:
    address = cluster.scheduler_address
    for data, spec in ((_panel(), SDID_SPEC), (_dml_data(), DML_SPEC)):
        local = ck.estimate(data, spec)
        remote = ck.estimate(data, {**spec, "execution": {"backend": "dask", "address": address}})
        assert (remote.estimate, remote.se, remote.ci) == (local.estimate, local.se, local.ci)
        assert remote.lineage.spec_hash == local.lineage.spec_hash


@pytest.mark.slow
def test_an_active_client_is_used_and_placebo_study_matches(cluster) -> None:
    from distributed import Client, get_task_stream

    from causal_kit.design.placebo_study import placebo_study

    spec = ck.ExperimentSpec(name="p", design="did", outcome="y", unit="unit", time="period", treatment="treated")
    data = _panel().query("unit >= 'u04'").assign(treated=0)
    serial = placebo_study(data, spec, n_reps=6, methods=["did"], seed=3)
    with Client(cluster) as client, get_task_stream(client) as stream:
        on_dask = placebo_study(data, spec, n_reps=6, methods=["did"], seed=3)
    assert sum("_replication" in task["key"] for task in stream.data) == 6
    pd.testing.assert_frame_equal(serial, on_dask)


@pytest.mark.slow
def test_cli_dask_flag_runs_on_the_cluster(cluster, tmp_path) -> None:
    from causal_kit.cli import main

    _panel().to_csv(tmp_path / "panel.csv", index=False)
    (tmp_path / "spec.yaml").write_text(
        "name: boot\ndesign: sdid\noutcome: y\ntreatment: treated\nunit: unit\ntime: period\nseed: 11\n"
        "options: {se_method: bootstrap, n_reps: 24}\n"
    )
    args = [str(tmp_path / "spec.yaml"), "--data", str(tmp_path / "panel.csv"), "--no-registry", "-q"]
    assert main(["estimate", *args, "--json-out", str(tmp_path / "local.json")]) == 0
    assert main(["estimate", *args, "--dask", cluster.scheduler_address, "--json-out", str(tmp_path / "d.json")]) == 0
    local = ck.EffectEstimate.from_json((tmp_path / "local.json").read_text())
    remote = ck.EffectEstimate.from_json((tmp_path / "d.json").read_text())
    assert (remote.estimate, remote.se) == (local.estimate, local.se)


@pytest.mark.slow
def test_unreachable_scheduler_is_a_named_error_within_ten_seconds() -> None:
    pytest.importorskip("distributed")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:\d+'"):
        map_tasks(abs, [1, 2], address=f"tcp://127.0.0.1:{port}")
    assert time.monotonic() - start < 10
