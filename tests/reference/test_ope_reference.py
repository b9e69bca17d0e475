"""Off-policy evaluation against the Open Bandit Pipeline (``obp`` 0.4.1).

The logged data (``data/obp_synthetic_ope.csv``) and the numbers below come from
``make_obp_ope.py``: obp's ``SyntheticBanditDataset`` (5 actions, 3-dim context, binary
reward, logistic reward and linear behaviour policy, random_state=12345, 500 rounds), a
softmax evaluation policy on the true expected reward (temperature 0.2) and obp's
``RegressionModel`` (logistic, 2 folds) as the reward model. Each tuple is obp's
``estimate_policy_value`` and its ``estimate_interval`` bounds (alpha 0.05, 2,000 bootstrap
samples, random_state=7); Switch-DR uses tau = 2.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal_kit.bandits.ope import evaluate_policy

DATA = Path(__file__).parent / "data" / "obp_synthetic_ope.csv"

# (estimate, CI lower, CI upper) printed by make_obp_ope.py
OBP = {
    "ipw": (0.7306395386008335, 0.6691884875783064, 0.7905129397785812),
    "snipw": (0.696523758235093, 0.637942043525713, 0.7536014883651972),
    "dm": (0.6631462373481564, 0.6527792881033831, 0.6733614377691516),
    "dr": (0.704640308663722, 0.6558565101059607, 0.750647506413452),
    "sndr": (0.7027028243794837, 0.656252491461092, 0.7465331276479803),
    "switch_dr": (0.6655914165988736, 0.6254526925834555, 0.7048019746250226),
}
# obp bootstraps the per-round terms with the full-sample normaliser; we re-normalise the
# self-normalised estimators inside each resample, so only the linear ones share its interval
LINEAR = ("ipw", "dm", "dr", "switch_dr")


@pytest.fixture(scope="module")
def logged():
    df = pd.read_csv(DATA)
    pi = df[[f"pi_{a}" for a in range(5)]].to_numpy()
    q = df[[f"q_{a}" for a in range(5)]].to_numpy()
    return df, pi, q


def test_point_estimates_match_obp(logged):
    df, pi, q = logged
    res = evaluate_policy(df, action="action", reward="reward", propensity="propensity", target=pi,
                          reward_model=q, switch_tau=2.0)
    for method, (value, _, _) in OBP.items():
        assert res.estimate(method) == pytest.approx(value, abs=1e-8), method


def test_bootstrap_intervals_match_obp_for_linear_estimators(logged):
    df, pi, q = logged
    res = evaluate_policy(df, action="action", reward="reward", propensity="propensity", target=pi,
                          reward_model=q, switch_tau=2.0, ci="bootstrap", n_boot=2000, seed=7,
                          methods=LINEAR)
    table = res.table.set_index("method")
    for method in LINEAR:
        _, lo, hi = OBP[method]
        assert table.loc[method, "ci_low"] == pytest.approx(lo, abs=1e-8), method
        assert table.loc[method, "ci_high"] == pytest.approx(hi, abs=1e-8), method


def test_normal_and_bootstrap_intervals_agree(logged):
    """The influence-function SE and the bootstrap SE are two routes to the same spread."""
    df, pi, q = logged
    kw = dict(action="action", reward="reward", propensity="propensity", target=pi, reward_model=q,
              switch_tau=2.0)
    normal = evaluate_policy(df, **kw).table.set_index("method")
    boot = evaluate_policy(df, **kw, ci="bootstrap", n_boot=2000, seed=7).table.set_index("method")
    np.testing.assert_allclose(normal["se"], boot["se"], rtol=0.1)
