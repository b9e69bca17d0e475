"""Repeated cross-section 2x2 against the published mpdta ATT(2004, 2004).

Treating the 2003 and 2004 rows of the 2004 cohort and the never-treated counties of mpdta as
two independent samples, the group x post OLS coefficient is the difference of the two groups'
changes in mean log employment, which is R ``did``'s ATT(g=2004, t=2004) = -0.0105032 (Callaway &
Sant'Anna 2021, the ``did`` package's introduction vignette; without covariates the
outcome-regression estimator with ``panel = FALSE`` gives the same point estimate). Tolerance: the
six published decimals.
"""

from __future__ import annotations

import pytest

import causal_kit as ck

ATT_2004_2004 = -0.010503  # R did 2.5.1, att_gt(yname="lemp", gname="first.treat", ...), group 2004, time 2004


def test_rcs_two_by_two_reproduces_att_2004_2004():
    df = ck.datasets.load("mpdta").query("year in (2003, 2004) and `first.treat` in (0, 2004)")
    df = df.assign(group=(df["first.treat"] == 2004).astype(int)).drop(columns="countyreal")
    spec = ck.ExperimentSpec(name="rcs", design="did", outcome="lemp", time="year", treatment="group",
                             treatment_start=2004, panel=False)
    res = ck.estimate(df, spec)
    assert res.estimate == pytest.approx(ATT_2004_2004, abs=5e-7)
    by_cohort = ck.estimate(df, spec.update(treatment=None, treatment_start=None, cohort="first.treat"))
    assert by_cohort.estimate == pytest.approx(ATT_2004_2004, abs=5e-7)
