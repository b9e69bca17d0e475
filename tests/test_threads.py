"""Thread pools causal_kit sets for its own calls (causal_kit._threads)."""

from __future__ import annotations

import os

import pytest

import causal_kit as ck
from causal_kit import _threads
from causal_kit.errors import SpecError


@pytest.fixture
def restore_threads():
    before = ck.get_threads()
    yield
    ck.set_threads(**before)


def test_defaults_one_blas_thread_and_usable_cores_for_learners(restore_threads, monkeypatch):
    monkeypatch.delenv("CAUSAL_KIT_BLAS_THREADS", raising=False)
    monkeypatch.delenv("CAUSAL_KIT_LEARNER_THREADS", raising=False)
    monkeypatch.setattr(_threads, "_CONFIG", {})
    assert ck.get_threads() == {"blas": "auto", "learners": _threads.usable_cores()}


def test_environment_overrides_are_read_and_checked(restore_threads, monkeypatch):
    monkeypatch.setattr(_threads, "_CONFIG", {})
    monkeypatch.setenv("CAUSAL_KIT_BLAS_THREADS", "none")
    monkeypatch.setenv("CAUSAL_KIT_LEARNER_THREADS", "3")
    assert ck.get_threads() == {"blas": None, "learners": 3}
    monkeypatch.setattr(_threads, "_CONFIG", {})
    monkeypatch.setenv("CAUSAL_KIT_BLAS_THREADS", "zero")
    with pytest.raises(SpecError, match="CAUSAL_KIT_BLAS_THREADS='zero' must be a positive integer, 'auto' or 'none'"):
        ck.get_threads()


def test_set_threads_validates(restore_threads):
    with pytest.raises(SpecError, match="The 'blas' parameter of set_threads must be None, 'auto' or an int >= 1. Got 0"):
        ck.set_threads(blas=0)
    with pytest.raises(SpecError, match="'learners' parameter .* Got True"):
        ck.set_threads(learners=True)


def test_blas_is_limited_inside_a_fit_and_restored_after(restore_threads):
    from threadpoolctl import threadpool_info

    def blas_threads_now():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    before = blas_threads_now()
    seen = {}
    ck.set_threads(blas=1)
    with _threads.blas_threads():
        seen["inside"] = blas_threads_now()
    assert seen["inside"] == {1}
    assert blas_threads_now() == before
    ck.set_threads(blas=None)
    with _threads.blas_threads():
        assert blas_threads_now() == before
    ck.set_threads(blas="auto")  # panel designs: one thread; row-level designs: unchanged
    with _threads.blas_threads(design="staggered_did"):
        assert blas_threads_now() == {1}
    with _threads.blas_threads(design="ab"):
        assert blas_threads_now() == before


def test_import_prefers_passive_openmp_without_overriding_the_caller():
    assert os.environ.get("OMP_WAIT_POLICY")  # set at import unless the caller had set it
    import subprocess
    import sys

    code = "import os, causal_kit; print(os.environ['OMP_WAIT_POLICY'])"
    for env, want in (({}, "PASSIVE"), ({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE")):
        full = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | env
        out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == want


class _RecordingOLS:
    """A scikit-learn style regressor that records the OpenMP threads it sees while fitting."""

    seen: list[set[int]] = []

    def get_params(self, deep=True):  # noqa: ANN001, ANN201
        return {}

    def set_params(self, **params):  # noqa: ANN003, ANN201
        return self

    def fit(self, X, y, sample_weight=None):  # noqa: ANN001, ANN201
        import numpy as np
        from threadpoolctl import threadpool_info

        _RecordingOLS.seen.append({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"})
        A = np.column_stack([np.ones(len(X)), X])
        self.coef_ = np.linalg.lstsq(A, y, rcond=None)[0]
        return self

    def predict(self, X):  # noqa: ANN001, ANN201
        import numpy as np

        return np.column_stack([np.ones(len(X)), X]) @ self.coef_


def test_dml_learners_run_with_the_configured_openmp_threads(restore_threads):
    import numpy as np
    import pandas as pd
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)

    from causal_kit.estimators.dml import DML

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    d = x[:, 0] + rng.normal(size=400)
    df = pd.DataFrame({"y": 0.5 * d + x[:, 1] + rng.normal(size=400), "d": d, "x1": x[:, 0], "x2": x[:, 1]})
    spec = ck.ExperimentSpec(name="t", design="dml", outcome="y", treatment="d", covariates=["x1", "x2"])
    ck.set_threads(learners=1)
    _RecordingOLS.seen.clear()
    res = DML(learner_y=_RecordingOLS(), learner_d=_RecordingOLS(), refute=False).fit(df, spec)
    assert _RecordingOLS.seen and all(s == {1} for s in _RecordingOLS.seen)
    assert abs(res.estimate - 0.5) < 0.2  # the effect of d, recovered (SE about 0.05)
