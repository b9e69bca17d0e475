"""Callaway-Sant'Anna benchmark: mpdta and a 10,000-unit x 40-period staggered panel.

Ours: ``causal_kit.estimate`` with ``n_boot: 0`` end to end (validation, panel pivot, every
ATT(g,t), the four aggregations with influence-function SEs, the pre-trend test and the
HonestDiD table; the trends table is lazy), plus a core-only timing (the vectorised cell and
aggregation maths on the pivoted arrays). Peers in the same process, each asked for ATT(g,t)
and the simple aggregation with analytic SEs (no bootstrap): diff-diff, csdid and
differences. Times are medians of interleaved runs, with default threading and again with
one core kept busy by a spinning process; the note gives the validation share of our time.
``match`` compares the simple ATT to 1e-6 and its SE to 1e-4 (relative).
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd

from benchmarks._harness import best_time, interleaved, modes, peer_available, row, validation_share


def _big(n_units: int, n_periods: int) -> pd.DataFrame:
    from causal_kit.datasets.simulate import simulate_staggered_panel

    cohorts = tuple(range(5, n_periods, 5))
    return simulate_staggered_panel(n_units=n_units, n_periods=n_periods, cohorts=cohorts, effect=1.0,
                                    dynamic=0.1, seed=1)


def _peers(df: pd.DataFrame, y: str, unit: str, time: str, cohort: str) -> dict:
    def diff_diff():
        from diff_diff import CallawaySantAnna

        r = CallawaySantAnna(estimation_method="dr", control_group="never_treated").fit(
            df, outcome=y, unit=unit, time=time, first_treat=cohort)
        return float(r.overall_att), float(r.overall_se)

    def csdid():
        from csdid.att_gt import ATTgt

        with contextlib.redirect_stdout(io.StringIO()):
            a = ATTgt(yname=y, gname=cohort, idname=unit, tname=time, data=df).fit(est_method="dr", bstrap=False)
            a.aggte(typec="simple", bstrap=False)
        return float(a.atte["overall_att"]), float(a.atte["overall_se"])

    def differences():
        from differences import ATTgt

        data = df.assign(**{cohort: df[cohort].where(df[cohort] > 0)}).set_index([unit, time])
        att = ATTgt(data=data, cohort_column=cohort)
        att.fit(y, est_method="dr", progress_bar=False)
        agg = att.aggregate("simple")
        return float(agg.iloc[0, 0]), float(agg.iloc[0, 1])

    return {"diff-diff": ("diff_diff", diff_diff), "csdid": ("csdid", csdid), "differences": ("differences", differences)}


def _case(name: str, df: pd.DataFrame, roles: dict, goal: str, repeat: int) -> list[dict]:
    import causal_kit as ck
    from causal_kit.estimators._cs_core import aggregation_weights, cell_grid, factor_cells

    spec = ck.ExperimentSpec(name="bench-did", design="staggered_did", options={"n_boot": 0}, **roles)
    ours = lambda: ck.estimate(df, spec)  # noqa: E731  (the public path: validation, panel, fit, tables)
    boot_s, _ = best_time(lambda: ck.estimate(df, spec, n_boot=999), repeat=1)

    panel_df = df.sort_values([roles["unit"], roles["time"]])
    n = panel_df[roles["unit"]].nunique()
    times = np.sort(panel_df[roles["time"]].unique())
    Y = panel_df[roles["outcome"]].to_numpy().reshape(n, len(times))
    g = panel_df[roles["cohort"]].to_numpy().reshape(n, len(times))[:, 0]
    first = np.where(g > 0, np.searchsorted(times, g), -1)

    def core():
        grid = cell_grid(first, len(times), 0, "varying")
        att, op, _, _ = factor_cells(Y, first, grid, control="never_treated", anticipation=0)
        W, WIF = aggregation_weights(att, grid.cohort, first, [np.flatnonzero(grid.period >= grid.cohort)])
        return float(att @ W[:, 0]), float(np.sqrt(((op.project(W) + WIF) ** 2).sum()))

    core_s, (core_est, core_se) = best_time(core, repeat=repeat)
    rows = [row(f"{name}: ours core only (cells + simple agg)", core_s, note=f"simple ATT {core_est:.6f}"),
            row(f"{name}: ours with 999-draw multiplier bootstrap", boot_s, note="sup-t bands for every table")]
    peers = _peers(df, roles["outcome"], roles["unit"], roles["time"], roles["cohort"])
    for mode, ctx in modes():
        fns = {"ours": ours}
        for peer, (module, fn) in peers.items():
            if mode == "default" or peer == "diff-diff":  # the busy run only against the fastest peer
                if peer_available(module):
                    fns[peer] = fn
                else:
                    rows.append(row(f"{name} [{mode}]", 0.0, peer, None, goal, None, note=f"{peer} not installed"))
        with ctx(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                timed = interleaved(fns, repeat=repeat)
            except Exception as exc:  # a broken peer is reported, never fatal
                rows.append(row(f"{name} [{mode}]", 0.0, "", None, goal, None,
                                note=f"failed: {type(exc).__name__}: {exc}"[:120]))
                continue
            ours_s, res = timed.pop("ours")
            share = validation_share(df, spec, ours_s)
        for peer, (peer_s, (p_est, p_se)) in timed.items():
            match = bool(abs(p_est - res.estimate) < 1e-6 and abs(p_se / res.se - 1) < 1e-4)
            rows.append(row(f"{name} [{mode}]", ours_s, peer, peer_s, goal, match,
                            note=f"validation {share:.0%} of ours; ours {res.estimate:.6f} ({res.se:.6f}); "
                                 f"peer {p_est:.6f} ({p_se:.6f})"))
    return rows


def run(quick: bool = False) -> list[dict]:
    from causal_kit import datasets

    mpdta = datasets.load("mpdta")
    roles = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    rows = _case("CS on mpdta (500 x 5)", mpdta, roles, "<= 1.0x diff-diff", repeat=5)
    n_units, n_periods = (2000, 20) if quick else (10_000, 40)
    big = _big(n_units, n_periods)
    roles = dict(outcome="y", unit="unit", time="period", cohort="cohort")
    rows += _case(f"CS on {n_units:,} x {n_periods} staggered panel", big, roles, "<= 0.5x diff-diff", repeat=5)
    return rows
