"""Make the ``savvi`` reference numbers of ``test_sequential_reference.py``.

Run once in an environment with ``savvi`` installed (the ``bench`` extra):
``python tests/reference/make_savvi_sequential.py path/to/ab_cuped_sim.csv``; paste the printout.
"""

import sys

import numpy as np
import pandas as pd
from savvi.linear_regression import LinearRegression
from savvi.multinomial import Multinomial

df = pd.read_csv(sys.argv[1])
X = np.column_stack([np.ones(len(df)), df.treat.to_numpy(float), df.pre.to_numpy(float)])
y = df.y.to_numpy(float)
for phi in (1.0, 0.5):
    model = LinearRegression(alpha=0.05, p=3, phi=phi)
    for i in range(len(df)):
        model.update(np.concatenate([[y[i]], X[i]]))
        if i + 1 in (1000, 4000, 10000):
            ci = model.calculate_conf_int()[1]
            print(("regression", phi, i + 1, model.beta[1], ci[0], ci[1], model.calculate_p_value()[1]))
for counts, theta in (([5000, 5000], [0.5, 0.5]), ([5150, 4850], [0.5, 0.5]), ([3100, 3000, 3500], [0.3, 0.3, 0.4])):
    m = Multinomial(alpha=0.05, theta_0=np.array(theta), k=100)
    m.update(np.array(counts))
    print(("srm", counts, theta, m.calculate_p_value()))
