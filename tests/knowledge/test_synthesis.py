"""synthesize(): grouping and one effect per study, named errors, and interval coverage with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from causal_kit.errors import DataError, SpecError
from causal_kit.knowledge import EvidenceError
from causal_kit.knowledge.record import record_from_row
from causal_kit.knowledge.synthesis import meta_analysis, synthesize


def _row(i, estimate, *, study=None, intervention="free delivery", outcome="orders", se=0.1, run=None, method="did",
         kind=None):
    spec = f"name: x\noutcome: {outcome}\nreport:\n  intervention: {intervention}\n"
    if kind:
        spec += f"  outcome_kind: {kind}\n"
    return record_from_row({"run_id": run or f"r{i}", "name": study or f"market-{i}", "method": method,
                            "estimate": estimate, "se": se, "ci_low": estimate - 2 * se, "ci_high": estimate + 2 * se,
                            "alpha": 0.05, "spec": spec})


def test_groups_by_intervention_and_outcome_and_keeps_the_latest_run_per_study():
    recs = [_row(0, 0.9, study="a"), _row(1, 0.3, study="a"), _row(2, 0.5, study="b"),
            _row(3, 0.4, study="c"), _row(4, 2.0, study="d", intervention="price cut")]
    (pooled,) = synthesize(recs)
    assert pooled.k == 3 and pooled.labels == ("a", "b", "c")
    assert pooled.effects == (0.3, 0.5, 0.4) and pooled.record_ids == ("r1/did", "r2/did", "r3/did")
    direct = meta_analysis([0.3, 0.5, 0.4], [0.1] * 3)
    assert pooled.estimate == direct.estimate and pooled.ci == direct.ci
    assert sum(pooled.weights) == pytest.approx(100.0)


def test_a_run_with_several_methods_contributes_one_effect_and_says_so():
    recs = [_row(0, 0.3, study="a", run="r0"), _row(0, 0.8, study="a", run="r0", method="sdid"), _row(1, 0.5, study="b")]
    (pooled,) = synthesize(recs)
    assert pooled.k == 2 and pooled.effects == (0.3, 0.5)
    assert "pooled did, not sdid" in pooled.notes[0]


def test_different_units_are_not_pooled():
    recs = [_row(0, 0.3, kind="count"), _row(1, 0.5, kind="rate")]
    with pytest.raises(EvidenceError, match="measure the outcome differently"):
        synthesize(recs)


def test_a_missing_se_is_named():
    recs = [_row(0, 0.3), _row(1, 0.5, se=float("nan"))]
    with pytest.raises(EvidenceError, match="1 studies have no standard error"):
        synthesize(recs)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(effects=[0.1], ses=[0.1]), DataError, "at least 2 studies; got 1"),
    (dict(effects=[0.1, 0.2], ses=[0.1, 0.0]), DataError, "1 of 2 studies have a non-finite effect"),
    (dict(effects=[0.1, 0.2], ses=[0.1]), DataError, "same length; got 2 effects and 1 SEs"),
    (dict(effects=["a", 0.2], ses=[0.1, 0.1]), DataError, "must be numbers"),
    (dict(effects=[0.1, 0.2], ses=[0.1, 0.1], method="PM"), SpecError, "'method' parameter of synthesize"),
    (dict(effects=[0.1, 0.2], ses=[0.1, 0.1], interval="t"), SpecError, "'interval' parameter"),
    (dict(effects=[0.1, 0.2], ses=[0.1, 0.1], alpha=1.5), SpecError, "'alpha' parameter"),
])
def test_bad_input_raises_named_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        meta_analysis(**kwargs)


def test_synthesize_takes_records_only():
    with pytest.raises(EvidenceError, match="takes evidence records"):
        synthesize([{"estimate": 1.0}])
    with pytest.raises(SpecError, match="min_studies"):
        synthesize([], min_studies=1)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["DL", "REML"])
def test_hartung_knapp_coverage_with_known_truth(method):
    # 2,000 meta-analyses of k = 8 studies, true mean 0.2, tau = 0.15, unequal SEs: the
    # Hartung-Knapp interval (ad hoc form) should cover the truth at about 95% (MCSE ~0.5 pp).
    rng = np.random.default_rng(20261129)
    reps, k, truth, tau = 2000, 8, 0.2, 0.15
    ses = rng.uniform(0.05, 0.3, size=(reps, k))
    effects = truth + rng.normal(0, tau, size=(reps, k)) + rng.normal(0, 1, size=(reps, k)) * ses
    covered = [meta_analysis(e, s, method=method).ci for e, s in zip(effects, ses)]
    coverage = np.mean([lo <= truth <= hi for lo, hi in covered])
    estimates = np.array([meta_analysis(e, s, method=method, interval="normal").estimate for e, s in zip(effects, ses)])
    assert 0.935 <= coverage <= 0.965  # measured 94.0% (DL) and 94.05% (REML); untruncated HK 92%, z 90%
    assert abs(estimates.mean() - truth) < 0.01
