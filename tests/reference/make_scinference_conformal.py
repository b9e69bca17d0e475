"""Make the ``scinference`` reference numbers of ``test_conformal_reference.py``.

Conformal inference (Chernozhukov, Wuthrich & Zhu 2021) on Prop 99: California against the 38
other states, 19 pre-years and 12 post-years. Run once where ``scinference`` is installed (the
``bench`` extra): ``python tests/reference/make_scinference_conformal.py path/to/california_prop99_long.csv``;
paste the printout.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from scinference import scinference

d = pd.read_csv(sys.argv[1])
wide = d.pivot(index="Year", columns="State", values="PacksPerCapita")
y1 = wide.pop("California").to_numpy()
Y0 = wide.to_numpy()
out = {}
for method in ("sc", "did"):
    t = time.time()
    r = scinference(y1, Y0, T1=12, T0=19, inference_method="conformal", theta0=0, estimation_method=method, permutation_method="mb")
    out[f"p_{method}_mb"] = r["p_val"]
    for th in (-5.0, -10.0, -20.0):
        out[f"p_{method}_mb_{th}"] = scinference(y1, Y0, T1=12, T0=19, theta0=th, estimation_method=method)["p_val"]
    grid = np.linspace(-60, 20, 201)
    t = time.time()
    r = scinference(y1, Y0, T1=12, T0=19, alpha=0.1, ci=True, theta0=0, estimation_method=method, ci_grid=grid)
    out[f"time_ci_{method}"] = time.time() - t
    out[f"lb_{method}"] = list(map(float, r["lb"]))
    out[f"ub_{method}"] = list(map(float, r["ub"]))
print(json.dumps(out, indent=1))
