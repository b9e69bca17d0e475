"""Make the diff-diff reference numbers of ``test_interference_reference.py``.

Run once in an environment with ``diff-diff`` installed (the ``bench`` extra):
``python tests/reference/make_diffdiff_interference.py path/to/spillover_sim.csv``; paste the printout.

1. ``SpilloverDiD`` (Butts 2021 ring DiD, two-stage Gardner form) on the bundled spillover panel, rings
   (0, 15] and (15, 30] km: its point estimates equal the one-stage TWFE with time-varying ring
   indicators for a single adoption date.
2. ``compute_robust_vcov(vcov_type="conley")`` (parity with R ``conleyreg`` per its docs) on the
   two-way demeaned TWFE regressors of the same panel, 60 km cutoff, Bartlett and uniform kernels,
   serial lag 0 and 3.
"""

import sys

import numpy as np
import pandas as pd
from diff_diff import SpilloverDiD
from diff_diff.linalg import compute_robust_vcov

df = pd.read_csv(sys.argv[1])
for cluster in (None, "geo"):
    res = SpilloverDiD(rings=[0.0, 15.0, 30.0], conley_coords=("lat", "lon"), cluster=cluster,
                       rank_deficient_action="silent").fit(df, outcome="y", unit="geo", time="period",
                                                           treatment="treated")
    print("cluster", cluster, "direct", repr(float(res.att)), repr(float(res.se)))
    print(res.spillover_effects.to_dict())

wide_y = df.pivot(index="geo", columns="period", values="y").sort_index().to_numpy()
wide_d = df.pivot(index="geo", columns="period", values="treated").sort_index().to_numpy().astype(float)


def dm(a):
    return (a - a.mean(1, keepdims=True) - a.mean(0, keepdims=True) + a.mean()).ravel()


x, y = dm(wide_d), dm(wide_y)
beta = x @ y / (x @ x)
n_u, n_t = wide_y.shape
units = np.repeat(np.arange(n_u), n_t)
coords = df.drop_duplicates("geo").sort_values("geo")[["lat", "lon"]].to_numpy()[units]
for kernel in ("bartlett", "uniform"):
    for lag in (0, 3):
        V = compute_robust_vcov(x[:, None], y - beta * x, conley_coords=coords, conley_cutoff_km=60.0,
                                conley_kernel=kernel, conley_time=np.tile(np.arange(n_t), n_u), conley_unit=units,
                                conley_lag_cutoff=lag, vcov_type="conley")
        print(kernel, lag, repr(float(np.sqrt(V[0, 0]))))
