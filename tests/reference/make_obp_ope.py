"""Make the Open Bandit Pipeline (``obp``) reference numbers of ``test_ope_reference.py``.

Run once in an environment with ``obp`` installed (the ``bench`` extra):
``python tests/reference/make_obp_ope.py tests/reference/data/obp_synthetic_ope.csv``.
It writes the logged data (action, reward, propensity, the evaluation policy's action
probabilities and a cross-fitted reward model) to the CSV and prints the estimates and the
bootstrap intervals of obp's IPW, SNIPW, DM, DR, SNDR and Switch-DR; paste the printout.
obp 0.4.1 imports torch when it loads; the numpy code paths used here never call it, so a
CPU-only torch (or any importable stand-in module) is enough.
"""

import sys

import numpy as np
import pandas as pd
from obp.dataset import SyntheticBanditDataset, linear_behavior_policy, logistic_reward_function
from obp.ope import (
    DirectMethod,
    DoublyRobust,
    InverseProbabilityWeighting,
    RegressionModel,
    SelfNormalizedDoublyRobust,
    SelfNormalizedInverseProbabilityWeighting,
    SwitchDoublyRobust,
)
from obp.utils import softmax
from sklearn.linear_model import LogisticRegression

K, N = 5, 500
dataset = SyntheticBanditDataset(n_actions=K, dim_context=3, reward_type="binary",
                                 reward_function=logistic_reward_function,
                                 behavior_policy_function=linear_behavior_policy, random_state=12345)
fb = dataset.obtain_batch_bandit_feedback(n_rounds=N)
# evaluation policy: a softmax that leans on the true expected reward (temperature 0.2)
pi_e = softmax(fb["expected_reward"] / 0.2)[:, :, None]
reg = RegressionModel(n_actions=K, len_list=1, base_model=LogisticRegression(random_state=12345))
q_hat = reg.fit_predict(context=fb["context"], action=fb["action"], reward=fb["reward"],
                        n_folds=2, random_state=12345)
out = pd.DataFrame({"action": fb["action"], "reward": fb["reward"], "propensity": fb["pscore"]})
for a in range(K):
    out[f"pi_{a}"] = pi_e[:, a, 0]
for a in range(K):
    out[f"q_{a}"] = q_hat[:, a, 0]
out.to_csv(sys.argv[1], index=False, float_format="%.17g")

args = dict(reward=fb["reward"], action=fb["action"], pscore=fb["pscore"], action_dist=pi_e,
            estimated_rewards_by_reg_model=q_hat, position=np.zeros(N, dtype=int))
estimators = {"ipw": InverseProbabilityWeighting(), "snipw": SelfNormalizedInverseProbabilityWeighting(),
              "dm": DirectMethod(), "dr": DoublyRobust(), "sndr": SelfNormalizedDoublyRobust(),
              "switch_dr": SwitchDoublyRobust(tau=2.0)}
for name, est in estimators.items():
    value = est.estimate_policy_value(**args)
    ci = est.estimate_interval(**args, alpha=0.05, n_bootstrap_samples=2000, random_state=7)
    lo, hi = ci["95.0% CI (lower)"], ci["95.0% CI (upper)"]
    print(f"    \"{name}\": ({float(value)!r}, {float(lo)!r}, {float(hi)!r}),")
print("true value:", repr(float(dataset.calc_ground_truth_policy_value(fb["expected_reward"], pi_e))))
