"""Report pieces for price tests and bandit simulations.

:func:`price_decision` gives a price test the same ship / stop / extend line as every other
readout (through :func:`causal_kit.verdict.decision`), read on the profit gain of moving to the
recommended price; :func:`price_view` is the text of the price-test section;
:func:`render_bandit` renders a :class:`~causal_kit.bandits.simulate.BanditSimulation` as a
self-contained page.
"""

from __future__ import annotations

from typing import Any

from ..verdict import Decision, decision
from . import fmt

__all__ = ["price_decision", "price_view", "price_answer", "price_tiles", "render_bandit"]


def _price_text(details: dict[str, Any], key: str = "recommended") -> str:
    """The recommended price (or change against the reference price) and its interval as text."""
    if "recommended_price" in details:
        lo, hi = details["recommended_price_ci"]
        return f"{fmt.num(details['recommended_price'])} (CI {fmt.num(lo)} to {fmt.num(hi)})"
    lo, hi = details["recommended_relative_price_ci"]
    return (f"{fmt.pct(details['recommended_relative_price'] - 1, 1, sign=True)} against each product's reference "
            f"price (CI {fmt.pct(lo - 1, 1, sign=True)} to {fmt.pct(hi - 1, 1, sign=True)})")


def _pct_ci(lo: float, hi: float) -> str:
    return f"CI {fmt.pct(lo, 1, sign=True)} to {fmt.pct(hi, 1, sign=True)}"


def price_answer(result: Any) -> str:
    """The headline sentence of a price test: the elasticity read in words, with its interval."""
    level = fmt.level(result.alpha)
    lo, hi = result.ci
    e = result.estimate
    if hi < 0:
        head = f"Demand falls as price rises: a 1% higher price cuts units by about {fmt.num(-e, 2)}%"
    elif lo > 0:
        head = f"Units rose with price in this test: a 1% higher price goes with {fmt.num(e, 2)}% more units"
    else:
        head = f"The data cannot tell how units respond to price: the elasticity is {fmt.num(e, 2)}"
    return f"{head} ({level} CI of the elasticity {fmt.num(lo, 2)} to {fmt.num(hi, 2)})."


def price_tiles(result: Any) -> list[Any]:
    """Headline tiles: elasticity, recommended price, profit change there."""
    from .summary import Tile

    d = result.details
    level = fmt.level(result.alpha)
    name = "profit" if d.get("margin_basis") == "margin" else "revenue"
    tiles = [Tile("Own-price elasticity", fmt.num(result.estimate, 2),
                  f"{level} CI {fmt.num(result.ci[0], 2)} to {fmt.num(result.ci[1], 2)}", "effect")]
    if "recommended_price" in d:
        lo, hi = d["recommended_price_ci"]
        tiles.append(Tile(f"Price that maximises {name}", fmt.num(d["recommended_price"]),
                          f"{level} CI {fmt.num(lo)} to {fmt.num(hi)}", "price"))
    else:
        lo, hi = d["recommended_relative_price_ci"]
        tiles.append(Tile(f"Price change that maximises {name}", fmt.pct(d["recommended_relative_price"] - 1, 1, sign=True),
                          _pct_ci(lo - 1, hi - 1), "price"))
    glo, ghi = d["profit_gain_at_recommended_ci"]
    tiles.append(Tile(f"{name.capitalize()} change there", fmt.pct(d["profit_gain_at_recommended"], 1, sign=True),
                      _pct_ci(glo, ghi), "gain"))
    return tiles


def price_decision(result: Any, spec_dict: dict[str, Any]) -> tuple[Decision | None, str]:
    """Ship / stop / extend on the profit gain of the recommended price over the reference price.

    The break-even is ``report.break_even`` read as a relative profit gain (default 0: any gain).
    """
    d = result.details
    if "profit_gain_at_recommended" not in d:
        return None, ""
    report = spec_dict.get("report") or {}
    be = float(report.get("break_even") or 0.0)
    value = float(d["profit_gain_at_recommended"])
    ci = tuple(float(v) for v in d["profit_gain_at_recommended_ci"])
    if abs(d["recommended_relative_price"] - 1.0) < 1e-9:
        return None, ("Keep the current price: it is the most profitable of the tested range under the estimated "
                      "elasticity.")
    dec = decision(value, ci, be, "lift", alpha=result.alpha)
    name = "profit" if d.get("margin_basis") == "margin" else "revenue"
    where = _price_text(d, "recommended")
    gain = f"{fmt.pct(value, 1, sign=True)} {name} ({_pct_ci(*ci)})"
    head = f"against a break-even gain of {fmt.pct(be, 1, sign=True)}"
    edge = (" It lies at the edge of the tested range: the best price may be further out; test beyond it first."
            if d.get("recommended_at_boundary") else "")
    if dec.action == "ship":
        text = f"Ship: move to the recommended price {where}; {gain} per period, {head}.{edge}"
    elif dec.action == "stop":
        text = f"Stop: keep the current price; moving to {where} would change {name} by {gain}, {head}.{edge}"
    else:
        text = (f"Extend: the {name} gain of the recommended price {where} is {gain}, which straddles the "
                f"break-even ({head}); run the test longer or on more products.{edge}")
    return dec, text


def price_view(result: Any) -> dict[str, Any] | None:
    """Text of the price-test section of an effect report, or None for other methods."""
    if result.method != "price_test":
        return None
    d = result.details
    level = fmt.level(result.alpha)
    name = "profit" if d.get("margin_basis") == "margin" else "revenue"
    lo, hi = result.ci
    rows = [
        ("Own-price elasticity", f"{fmt.num(result.estimate)} ({level} CI {fmt.interval(lo, hi)})"),
        ("Reading", f"a 1% higher price changes units by about {fmt.num(result.estimate, 2)}%"),
        (f"Recommended price (maximises {name} within the tested range)", _price_text(d, "recommended")),
        (f"{name.capitalize()} change at the recommended price",
         f"{fmt.pct(d['profit_gain_at_recommended'], 1, sign=True)} per period "
         f"({_pct_ci(*d['profit_gain_at_recommended_ci'])})"),
    ]
    if d.get("margin_basis") != "margin":
        rows.append(("Costs", "no unit cost given: margin equals revenue (set unit_cost or cost_share for profit)"))
    arms = []
    for r in result.tables["arms"].itertuples(index=False):
        label = fmt.num(r.price) if hasattr(r, "price") else fmt.pct(r.relative_price - 1, 0, sign=True)
        arms.append({
            "arm": label, "n": fmt.count(r.n_obs),
            "units": f"{fmt.pct(r.units_change_pct, 1, sign=True)} ({_pct_ci(r.units_change_pct_lo, r.units_change_pct_hi)})",
            "revenue": f"{fmt.pct(r.revenue_change_pct, 1, sign=True)} "
                       f"({_pct_ci(r.revenue_change_pct_lo, r.revenue_change_pct_hi)})",
            "margin": f"{fmt.pct(r.margin_change_pct, 1, sign=True)} ({_pct_ci(r.margin_change_pct_lo, r.margin_change_pct_hi)})",
        })
    return {"rows": rows, "arms": arms, "level": level, "boundary": bool(d.get("recommended_at_boundary"))}


def render_bandit(sim: Any, *, title: str = "Bandit price-exploration simulation") -> str:
    """Render a bandit simulation: profit and regret curves with bands, allocation over time, the arm table.

    Examples
    --------
    >>> from causal_kit.bandits.demand import DemandModel
    >>> from causal_kit.bandits.simulate import simulate_bandit
    >>> from causal_kit.report.pricing import render_bandit
    >>> sim = simulate_bandit(DemandModel(elasticity=-2.5), [8, 9, 10, 11], unit_cost=5.0, horizon=30, n_reps=20)
    >>> "<html" in render_bandit(sim)
    True
    """
    from .bandit_report import render_bandit_page

    return render_bandit_page(sim, title=title)
