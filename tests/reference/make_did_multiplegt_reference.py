"""Recompute the diff-diff reference numbers of tests/reference/test_did_multiplegt_reference.py.

Run with the ``bench`` extra installed (``diff-diff`` 3.13.0):
``python tests/reference/make_did_multiplegt_reference.py``. Prints the per-horizon effects,
placebos, their analytic SEs and switcher counts of ``ChaisemartinDHaultfoeuille`` (defaults:
multi-switch units dropped, no covariates) on the bundled ``switching_promo_sim`` panel.
"""

from __future__ import annotations

import json
import warnings

from diff_diff import ChaisemartinDHaultfoeuille

from causal_kit import datasets

if __name__ == "__main__":
    warnings.simplefilter("ignore")
    df = datasets.load("switching_promo_sim")
    out = {}
    for n_effects in (1, 3):
        res = ChaisemartinDHaultfoeuille(twfe_diagnostic=False).fit(
            df, outcome="y", group="unit", time="period", treatment="promo", L_max=n_effects)
        out[n_effects] = {
            "overall": [res.overall_att, res.overall_se],
            "effects": {h: [d["effect"], d["se"], d["n_obs"]] for h, d in res.event_study_effects.items()},
            "placebos": {h: [d["effect"], d["se"], d["n_obs"]] for h, d in (res.placebo_event_study or {}).items()},
        }
    print(json.dumps(out, indent=1))
