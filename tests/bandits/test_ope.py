"""Off-policy evaluation: hand-computed small cases, named errors, diagnostics and coverage."""

import numpy as np
import pandas as pd
import pytest

from causal_kit.bandits.ope import OPE_METHODS, evaluate_policy
from causal_kit.errors import DataError, SpecError

# four logged rows, two arms; target always plays arm 1
A = np.array([0, 1, 1, 0])
R = np.array([1.0, 2.0, 0.0, 3.0])
P = np.array([0.5, 0.25, 0.5, 0.8])
Q = np.array([1.5, 1.0])  # per-arm reward model


def test_hand_computed_values():
    res = evaluate_policy(action=A, reward=R, propensity=P, target=np.array([0.0, 1.0]), reward_model=Q,
                          switch_tau=3.0)
    w = np.array([0, 4, 2, 0])  # pi(a)/p
    assert res.estimate("ipw") == pytest.approx((4 * 2 + 2 * 0) / 4)
    assert res.estimate("snipw") == pytest.approx(8 / 6)
    assert res.estimate("dm") == pytest.approx(1.0)
    corr = w * (R - Q[A])  # 0, 4, -2, 0
    assert res.estimate("dr") == pytest.approx(1.0 + corr.mean())
    assert res.estimate("sndr") == pytest.approx(1.0 + corr.sum() / w.sum())
    assert res.estimate("switch_dr") == pytest.approx(1.0 + (-2) / 4)  # weight 4 > tau switched off
    ipw = res.table.set_index("method").loc["ipw"]
    c = w * R
    assert ipw["se"] == pytest.approx(c.std(ddof=1) / 2)


def test_deterministic_target_equals_one_hot_probabilities():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 3, 300)
    r = rng.normal(a, 1.0)
    t = rng.integers(0, 3, 300)
    q = rng.normal(size=(300, 3))
    det = evaluate_policy(action=a, reward=r, propensity=np.full(300, 1 / 3), target=t, reward_model=q)
    hot = evaluate_policy(action=a, reward=r, propensity=np.full(300, 1 / 3), target=np.eye(3)[t], reward_model=q)
    pd.testing.assert_frame_equal(det.table, hot.table)


def test_price_labels_with_arms():
    df = pd.DataFrame({"price": [9.99, 12.99, 9.99], "profit": [1.0, 2.0, 3.0], "p": [0.5, 0.5, 0.5]})
    res = evaluate_policy(df, action="price", reward="profit", propensity="p", target=np.array([1.0, 0.0]),
                          arms=[9.99, 12.99], methods=("ipw",))
    assert res.estimate("ipw") == pytest.approx((1 + 3) * 2 / 3)


@pytest.mark.parametrize("bad, match", [(0.0, "propensity has 1 values outside"), (1.2, "propensity has 1 values")])
def test_propensity_out_of_range_is_named(bad, match):
    p = P.copy()
    p[2] = bad
    with pytest.raises(DataError, match=match):
        evaluate_policy(action=A, reward=R, propensity=p, target=np.array([0.0, 1.0]))


def test_unknown_column_is_named():
    df = pd.DataFrame({"action": A, "reward": R, "propensity": P})
    with pytest.raises(DataError, match="column 'pscore' \\(propensity\\) is not in the logged data"):
        evaluate_policy(df, action="action", reward="reward", propensity="pscore", target=np.array([0.0, 1.0]))


def test_other_bad_inputs_are_named():
    with pytest.raises(DataError, match="do not sum to 1"):
        evaluate_policy(action=A, reward=R, propensity=P, target=np.array([0.5, 0.6]))
    with pytest.raises(DataError, match="reward has 1 missing"):
        evaluate_policy(action=A, reward=np.array([1.0, np.nan, 0, 0]), propensity=P, target=np.array([0.0, 1.0]))
    with pytest.raises(DataError, match="pass arms="):
        evaluate_policy(action=np.array(["a", "b"]), reward=R[:2], propensity=P[:2], target=np.array([0.0, 1.0]))
    with pytest.raises(DataError, match="not in arms"):
        evaluate_policy(action=np.array([9.0, 7.0]), reward=R[:2], propensity=P[:2], target=np.array([0.0, 1.0]),
                        arms=[9.0, 10.0])
    with pytest.raises(SpecError, match="'methods' parameter"):
        evaluate_policy(action=A, reward=R, propensity=P, target=np.array([0.0, 1.0]), methods=("magic",))
    with pytest.raises(DataError, match="reward_model has shape"):
        evaluate_policy(action=A, reward=R, propensity=P, target=np.array([0.0, 1.0]), reward_model=np.ones(3))


def test_support_violation_is_a_diagnostic_not_a_crash():
    """The target plays arm 2, which the log never shows: a failed support diagnostic."""
    a = np.array([0, 1, 0, 1])
    res = evaluate_policy(action=a, reward=R, propensity=np.full(4, 0.5), target=np.array([0.0, 0.0, 1.0]))
    diag = {d.name: d for d in res.diagnostics}
    assert diag["support"].status == "fail"
    assert diag["support"].statistic == pytest.approx(1.0)
    assert res.estimate("ipw") == 0.0  # no logged row the target would take
    assert {d.assumption for d in res.diagnostics} == {"overlap"}


def test_weight_diagnostics():
    rng = np.random.default_rng(3)
    n = 2000
    p = np.where(rng.random(n) < 0.04, 0.002, 0.9)
    a = np.zeros(n, dtype=int)
    res = evaluate_policy(action=a, reward=rng.random(n), propensity=p, target=np.array([1.0, 0.0]))
    s = res.weights_summary
    w = 1 / p
    assert s["ess"] == pytest.approx(w.sum() ** 2 / (w ** 2).sum())
    assert s["max_weight"] == pytest.approx(500.0)
    assert s["share_below_floor"] == pytest.approx((p < 0.01).mean())
    diag = {d.name: d.status for d in res.diagnostics}
    assert diag["propensity_floor"] == "warn" and diag["effective_sample_size"] == "warn"


@pytest.mark.slow
def test_coverage_on_known_policy_value():
    """Uniform logging over 4 prices, a stochastic target: the 95% normal intervals cover the true
    value 93.5-96.5% of 1,000 seeded logs (MCSE ~0.7 points): IPW, SNIPW, DR and SNDR with a
    slightly wrong fixed reward model (DM and Switch-DR inherit its bias there, as they should),
    and all six with the default per-arm-mean model, whose noise the DM interval includes."""
    means = np.array([0.2, 0.35, 0.5, 0.3])
    pi = np.array([0.1, 0.2, 0.6, 0.1])
    truth = float(pi @ means)
    rng = np.random.default_rng(20240601)
    hits = {m: 0 for m in OPE_METHODS}
    own = {m: 0 for m in OPE_METHODS}
    reps, n = 1000, 400
    for _ in range(reps):
        a = rng.integers(0, 4, n)
        r = rng.binomial(1, means[a]).astype(float)
        q = means + rng.normal(0, 0.05, 4)  # a slightly wrong reward model
        kw = dict(action=a, reward=r, propensity=np.full(n, 0.25), target=pi, switch_tau=2.0)
        for model, tally in ((q, hits), (None, own)):
            t = evaluate_policy(**kw, reward_model=model).table
            for m, lo, hi in zip(t["method"], t["ci_low"], t["ci_high"]):
                tally[m] += lo <= truth <= hi
    for m in ("ipw", "snipw", "dr", "sndr"):
        assert 0.935 <= hits[m] / reps <= 0.965, (m, hits[m])
    for m in OPE_METHODS:
        assert 0.935 <= own[m] / reps <= 0.965, (m, own[m])


@pytest.mark.slow
def test_fitted_reward_model_makes_dm_and_dr_accurate_on_contextual_data():
    """Contextual log (reward depends on x and the arm), an epsilon-greedy logging policy and a
    deterministic target: DM and DR with the cross-fitted model land near the true value."""
    from causal_kit.bandits.ope import fit_reward_model

    rng = np.random.default_rng(9)
    n, k = 2000, 3
    x = rng.normal(size=(n, 2))
    mu = np.column_stack([0.5 * x[:, 0], 0.2 + 0.3 * x[:, 1], 0.1 * np.ones(n)])
    greedy = np.argmax(mu + rng.normal(0, 0.5, (n, k)), axis=1)
    probs = np.full((n, k), 0.1)
    probs[np.arange(n), greedy] += 0.7
    a = np.array([rng.choice(k, p=p) for p in probs])
    r = mu[np.arange(n), a] + rng.normal(0, 0.5, n)
    target = np.argmax(mu, axis=1)
    truth = float(mu[np.arange(n), target].mean())
    q = fit_reward_model(x, a, r, k, n_folds=2, seed=1)
    res = evaluate_policy(action=a, reward=r, propensity=probs[np.arange(n), a], target=target, reward_model=q)
    t = res.table.set_index("method")
    for m in ("dm", "dr", "sndr"):
        assert abs(t.loc[m, "estimate"] - truth) < 0.05, (m, t.loc[m, "estimate"], truth)
    assert t.loc["dr", "ci_low"] <= truth <= t.loc["dr", "ci_high"]
    with pytest.raises(DataError, match="integer arm indices"):
        fit_reward_model(x, a + 5, r, k)
