"""The bandit simulation report: which exploration policy to run, and what it costs against the oracle.

Builds the view model of ``templates/bandit_report.html`` from a
:class:`~causal_kit.bandits.simulate.BanditSimulation` (numbers become text here, through
:mod:`causal_kit.report.fmt`) and renders a self-contained page.
"""

from __future__ import annotations

from typing import Any

from . import fmt

__all__ = ["bandit_context", "render_bandit_page"]


def _summary(sim: Any) -> dict[str, Any]:
    s = sim.summary.set_index("policy")
    band = fmt.pct(sim.band, 0)
    adaptive = s.drop(index="fixed_ab", errors="ignore")
    best = adaptive["total_regret"].idxmin() if len(adaptive) else s["total_regret"].idxmin()
    b = s.loc[best]
    lines = [f"The most profitable price in expectation (the oracle) is {fmt.num(sim.oracle_price)}."]
    lines.append(f"Of the policies simulated, {best} loses the least against it: {fmt.pct(b['regret_share'], 1)} of the "
                 f"oracle's profit over {fmt.count(sim.horizon)} periods ({band} of replications between "
                 f"{fmt.compact(b['total_regret_lo'])} and {fmt.compact(b['total_regret_hi'])} in regret), and it ends "
                 f"on the oracle price in {fmt.pct(b['final_choice_correct'], 0)} of {fmt.count(sim.n_reps)} replications.")
    if "fixed_ab" in s.index and best != "fixed_ab":
        ab = s.loc["fixed_ab"]
        saved = ab["total_profit"] - b["total_profit"]
        lines.append(f"A fixed A/B price test of the same length loses {fmt.pct(ab['regret_share'], 1)} "
                     f"({'+' if saved < 0 else ''}{fmt.compact(-saved)} profit for {best} against it) and picks the oracle "
                     f"price at the end in {fmt.pct(ab['final_choice_correct'], 0)} of replications.")
    tiles = [
        {"label": "Oracle price", "value": fmt.num(sim.oracle_price), "sub": "highest expected profit", "key": "oracle"},
        {"label": f"Regret of {best}", "value": fmt.pct(b["regret_share"], 1), "sub": "share of the oracle's profit lost",
         "key": "regret"},
        {"label": f"{best} ends on the oracle", "value": fmt.pct(b["final_choice_correct"], 0),
         "sub": f"of {fmt.count(sim.n_reps)} replications", "key": "correct"},
    ]
    return {"lines": lines, "tiles": tiles, "best": best}


def _tables(sim: Any) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    band = fmt.pct(sim.band, 0)
    rows = []
    for r in sim.summary.itertuples(index=False):
        rows.append({"policy": r.policy, "profit": fmt.compact(r.total_profit),
                     "profit_band": f"{fmt.compact(r.total_profit_lo)} to {fmt.compact(r.total_profit_hi)}",
                     "regret": fmt.compact(r.total_regret), "regret_share": fmt.pct(r.regret_share, 1),
                     "oracle_share": fmt.pct(r.oracle_traffic_share, 0), "correct": fmt.pct(r.final_choice_correct, 0),
                     "band": band})
    arms = []
    for policy, df in sim.arms.groupby("policy", sort=False):
        arms.append({"policy": policy, "rows": [
            {"price": fmt.num(a.price), "oracle": "yes" if a.oracle else "", "expected": fmt.num(a.expected_profit),
             "traffic": fmt.pct(a.traffic_share, 1),
             "p_best": fmt.pct(a.p_best, 0) if a.p_best == a.p_best else "n/a",
             "final": fmt.pct(a.final_choice_share, 0)} for a in df.itertuples(index=False)]})
    return rows, arms


def bandit_context(sim: Any, title: str, figs: Any) -> dict[str, Any]:
    """The template context of a bandit simulation page."""
    from ..plots.bandit_sim import allocation_figure, curve_figure
    from .html import _page

    rows, arms = _tables(sim)
    policies = list(dict.fromkeys(sim.summary["policy"]))
    return {
        "page": _page(title, [f"{fmt.count(len(policies))} policies", f"{fmt.count(sim.horizon)} periods",
                              f"{fmt.count(sim.n_reps)} replications", f"seed {sim.seed}"], "bandit"),
        "summary": _summary(sim),
        "regret_fig": figs.add(curve_figure(sim, "regret"), "cumulative regret"),
        "profit_fig": figs.add(curve_figure(sim, "profit"), "cumulative profit"),
        "allocation_figs": [figs.add(allocation_figure(sim, p), f"allocation of {p}") for p in policies],
        "rows": rows,
        "arms": arms,
        "band": fmt.pct(sim.band, 0),
    }


def render_bandit_page(sim: Any, *, title: str = "Bandit price-exploration simulation", plotlyjs: str = "auto") -> str:
    """Render a bandit simulation as one self-contained HTML page."""
    from .html import _Figures, _finish, _template

    figs = _Figures()
    context = bandit_context(sim, title, figs)
    return _finish(_template(None, "bandit_report.html"), context, figs, plotlyjs)
