"""The end-to-end demo: plan a geo experiment on history, run it, read it out, write reports.

``causal-kit demo`` (or ``make demo``) calls :func:`run`. Everything runs on a simulated daily
geo KPI panel (:func:`causal_kit.datasets.simulate.simulate_geo_panel`) with a known true lift,
so the readout can be checked against the truth:

1. **Plan.** On the first ``history_days`` days, pick the treated markets and simulate power
   for synthetic DiD, synthetic control and DiD on historical windows (MDE, duration, A/A error).
2. **Run.** Apply the true lift to the chosen markets for the planned duration.
3. **Read out.** Estimate the effect with the same spec and three methods side by side.
4. **Report.** Write a design report and a robustness report (self-contained HTML).

:func:`write_data` (``causal-kit demo --data-only``) writes only a readout table, so that the
README's command-line example runs as it is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["DemoOutput", "run", "write_data"]

COST_PER_ORDER = 0.15  # USD the promotion costs per order sold in a treated market


@dataclass(frozen=True)
class DemoOutput:
    """Where the demo wrote its reports, and the true lift it injected."""

    readout_report: Path
    design_report: Path
    true_lift: float
    treated_geos: tuple[str, ...]


def demo_spec(cost: float, duration: int):
    """The one spec used at design time and at readout time."""
    from .spec import ExperimentSpec

    return ExperimentSpec(
        name="geo-promo-demo",
        question="Did the regional promotion raise daily orders, and what did each extra order cost?",
        design="sdid",
        outcome="kpi",
        unit="geo",
        time="date",
        treatment="treated",
        seed=7,
        estimators=["sdid", "synthetic_control", "did"],
        report={
            "title": "Regional promotion geo test",
            "audience": "VP Marketing",
            "owner": "Growth analytics",
            "currency": "USD",
            "outcome_label": "orders",
            "outcome_kind": "count",
            "unit_label": "orders",
            "per": "per market-day",
            "cost": cost,
        },
        plan={
            "assignment": "search",
            "n_treated": 8,
            "duration": (duration, 14, 42),
            "effect_grid": (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1),
            "n_windows": 12,
            "n_candidates": 4,
            "candidate_estimators": ("sdid", "synthetic_control", "did"),
            "cost_per_unit": COST_PER_ORDER,
        },
    )


def run(
    out_dir: str | Path = "reports",
    *,
    n_geos: int = 40,
    history_days: int = 365,
    duration: int = 28,
    true_lift: float = 0.05,
    readout_pre_days: int = 91,
    seed: int = 7,
    verbose: bool = True,
) -> DemoOutput:
    """Plan, run and read out a simulated geo experiment; write the HTML reports.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``geo_design.html`` and ``geo_readout.html`` (created if needed).
    n_geos, history_days, duration : int
        Panel size, days of history used for planning, and test length in days.
    true_lift : float
        The multiplicative lift applied to the treated markets during the test.
    readout_pre_days : int
        Days before the test that the readout uses as its pre-period.
    seed : int
        Seed of the simulated panel (the spec carries its own seed for the estimators).
    verbose : bool
        Print a short account of each step.

    Returns
    -------
    DemoOutput

    Examples
    --------
    >>> from causal_kit.demo import run
    >>> out = run("reports", n_geos=20, history_days=200, verbose=False)  # doctest: +SKIP
    >>> out.readout_report.name  # doctest: +SKIP
    'geo_readout.html'
    """
    from . import report
    from .api import estimate
    from .datasets.simulate import simulate_geo_panel
    from .design import plan

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = print if verbose else (lambda *a, **k: None)
    total_days = history_days + duration
    test_start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=history_days)

    say(f"1/4 Planning on {history_days} days of history for {n_geos} markets ...")
    base = simulate_geo_panel(n_geos=n_geos, n_days=total_days, seed=seed)
    history = base[base["date"] < test_start].reset_index(drop=True)
    # The promotion costs COST_PER_ORDER on every order in the treated markets; budget it for 8 typical ones.
    typical_volume = history.groupby("geo")["kpi"].mean().median() * 8 * duration
    spec = demo_spec(cost=float(round(COST_PER_ORDER * typical_volume, -2)), duration=duration)
    design = plan(history, spec, progress=None if verbose else False)
    treated = tuple(design.assignment.loc[design.assignment["cell"] == "treatment", "unit"].astype(str))
    design_path = report.save_html(design, out / "geo_design.html")
    say(f"    treat {len(treated)} markets; MDE {design.mde:.1%} at {design.target_power:.0%} power "
        f"over {design.recommended_duration} days (planned estimator: {design.method})")

    say(f"2/4 Running the test: +{true_lift:.0%} in the treated markets for {duration} days ...")
    panel = simulate_geo_panel(
        n_geos=n_geos, n_days=total_days, seed=seed, treated=list(treated), effect=true_lift,
        test_start=str(test_start.date()),
    )
    readout = panel[panel["date"] >= test_start - pd.Timedelta(days=readout_pre_days)].reset_index(drop=True)

    say("3/4 Reading out with synthetic DiD, synthetic control and DiD ...")
    results = estimate(readout, spec)
    for r in results:
        lift = r.relative_lift
        say(f"    {r.label or r.method:<28} effect {r.estimate:9.2f} orders/market-day"
            + (f"  lift {lift:+.1%}" if lift is not None else "")
            + f"  95% CI [{r.ci[0]:.2f}, {r.ci[1]:.2f}]")

    say("4/4 Writing the reports ...")
    readout_path = report.save_html(results, out / "geo_readout.html", design=design, design_href="geo_design.html")
    say(f"    design report:  {Path(design_path).resolve()}")
    say(f"    readout report: {Path(readout_path).resolve()}")
    return DemoOutput(Path(readout_path), Path(design_path), true_lift, treated)


def write_data(
    path: str | Path = "sales.parquet",
    *,
    n_geos: int = 40,
    pre_days: int = 91,
    duration: int = 28,
    n_treated: int = 8,
    true_lift: float = 0.05,
    seed: int = 7,
) -> Path:
    """Write a simulated geo test ready for a readout: ``geo, date, kpi, cost, treated``.

    ``n_treated`` geos (drawn with ``seed``) get a ``true_lift`` multiplicative lift over the last
    ``duration`` days; ``treated`` is 1 for those geos on those days. CSV or Parquet by suffix.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from causal_kit.demo import write_data
    >>> path = write_data(tempfile.mkdtemp() + "/sales.csv", n_geos=10, pre_days=30, duration=7)
    >>> sorted(pd.read_csv(path).columns)
    ['cost', 'date', 'geo', 'kpi', 'treated']
    """
    from .datasets.simulate import simulate_geo_panel

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=pre_days)
    panel = simulate_geo_panel(n_geos=n_geos, n_days=pre_days + duration, seed=seed, treated=n_treated,
                               effect=true_lift, test_start=str(start.date()))
    if out.suffix.lower() == ".csv":
        panel.to_csv(out, index=False)
    else:
        panel.to_parquet(out, index=False)
    return out
