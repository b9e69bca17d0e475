"""Make the GrowthBook ``gbstats`` reference numbers of ``test_sequential_reference.py``.

Run once in an environment with ``gbstats`` installed (the ``bench`` extra):
``python tests/reference/make_gbstats_sequential.py path/to/ab_cuped_sim.csv``; paste the printout.
"""

import sys

import numpy as np
import pandas as pd
from gbstats.frequentist.tests import SequentialConfig, SequentialTwoSidedTTest
from gbstats.models.statistics import (
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    compute_theta,
)


def mean_stat(v):
    return SampleMeanStatistic(n=len(v), sum=float(v.sum()), sum_squares=float((v**2).sum()))


df = pd.read_csv(sys.argv[1])
arms = [df[df.treat == 0], df[df.treat == 1]]
for tuning in (5000, 20000):
    for alpha in (0.05, 0.1):
        for kind in ("absolute", "relative"):
            cfg = SequentialConfig(alpha=alpha, sequential_tuning_parameter=tuning, difference_type=kind)
            a, b = (mean_stat(g.y.to_numpy()) for g in arms)
            t = SequentialTwoSidedTTest(a, b, cfg)
            print(("plain", kind, tuning, alpha, t.point_estimate, *t.confidence_interval, t.p_value))
            ra = [RegressionAdjustedStatistic(n=len(g), post_statistic=mean_stat(g.y.to_numpy()),
                                              pre_statistic=mean_stat(g.pre.to_numpy()),
                                              post_pre_sum_of_products=float((g.y * g.pre).sum()), theta=0)
                  for g in arms]
            theta = compute_theta(*ra)
            ra = [RegressionAdjustedStatistic(n=s.n, post_statistic=s.post_statistic, pre_statistic=s.pre_statistic,
                                              post_pre_sum_of_products=s.post_pre_sum_of_products, theta=theta)
                  for s in ra]
            t = SequentialTwoSidedTTest(ra[0], ra[1], cfg)
            print(("cuped", kind, tuning, alpha, t.point_estimate, *t.confidence_interval, t.p_value))
print(np.__version__)
