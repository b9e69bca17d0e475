"""Flat tables of evidence records for warehouses: studies, effects and diagnostics, as Parquet.

- ``effects``: one row per record (run and method): the effect in native and business units, the
  verdict, the decision and the provenance keys;
- ``diagnostics``: one row per diagnostic, with its assumption group and the group's status;
- ``studies``: one row per study: question, intervention, outcome, number of runs and methods,
  first and last run, and the latest record.

:func:`read_tables` reads a folder written by :func:`write_tables` back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .record import EvidenceError, EvidenceRecord

__all__ = ["TABLES", "tables", "write_tables", "read_tables"]

TABLES = ("studies", "effects", "diagnostics")


def _effect_row(r: dict[str, Any]) -> dict[str, Any]:
    e, p, prov = r["effect"], r["population"], r["provenance"]
    b, iv, oc, v, dec = e["business"], r["intervention"], r["outcome"], r["verdict"], r["decision"]
    return {
        "record_id": r["id"], "run_id": prov["run_id"], "study": r["study"], "question": r["question"],
        "intervention": iv["label"], "intervention_key": iv["key"], "design": iv["design"],
        "markets": ",".join(iv["markets"]) or None, "outcome": oc["label"], "outcome_key": oc["key"],
        "outcome_metric": oc["metric"], "outcome_kind": oc["kind"], "outcome_unit": oc["unit"],
        "outcome_scale": oc["scale"], "currency": oc["currency"], "method": e["method"], "estimand": e["estimand"],
        "estimate": e["estimate"], "se": e["se"], "ci_low": e["ci_low"], "ci_high": e["ci_high"],
        "p_value": e["p_value"], "alpha": e["alpha"], "business_effect": b["effect"], "business_ci_low": b["ci_low"],
        "business_ci_high": b["ci_high"], "business_relative": b["relative"], "lift": b["lift"],
        "lift_ci_low": b["lift_ci_low"], "lift_ci_high": b["lift_ci_high"], "incremental": b["incremental"],
        "incremental_ci_low": b["incremental_ci_low"], "incremental_ci_high": b["incremental_ci_high"],
        "cost": b["cost"], "iroas": b["iroas"], "verdict": v["label"], "verdict_status": v["status"],
        "conclusion": v["conclusion"], "decision": dec["action"] if dec else None, "n_obs": p["n_obs"],
        "n_units": p["n_units"], "period_start": p["period_start"], "period_end": p["period_end"],
        "recorded_at": prov["recorded_at"], "spec_hash": prov["spec_hash"], "data_fingerprint": prov["data_fingerprint"],
        "causal_kit_version": (prov["versions"] or {}).get("causal_kit"), "report": r["links"]["report"],
        "n_related": len(r["links"]["related"]),
    }


_EFFECT_TYPES = {
    "estimate": "float64", "se": "float64", "ci_low": "float64", "ci_high": "float64", "p_value": "float64",
    "alpha": "float64", "business_effect": "float64", "business_ci_low": "float64", "business_ci_high": "float64",
    "lift": "float64", "lift_ci_low": "float64", "lift_ci_high": "float64", "incremental": "float64",
    "incremental_ci_low": "float64", "incremental_ci_high": "float64", "cost": "float64", "iroas": "float64",
    "n_obs": "Int64", "n_units": "Int64", "n_related": "int64", "business_relative": "bool",
}
_DIAG_COLUMNS = ["record_id", "run_id", "study", "method", "assumption", "assumption_status", "diagnostic", "status",
                 "message", "statistic", "p_value", "threshold"]


def tables(records: Sequence[EvidenceRecord | dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """The three flat tables of ``records`` (models or their JSON dicts) as DataFrames.

    Examples
    --------
    >>> from causal_kit.knowledge.record import record_from_row
    >>> rec = record_from_row({"run_id": "r1", "name": "promo", "method": "did", "estimate": 0.5,
    ...                        "ci_low": 0.3, "ci_high": 0.7, "se": 0.1})
    >>> {name: len(frame) for name, frame in tables([rec]).items()}
    {'studies': 1, 'effects': 1, 'diagnostics': 0}
    """
    items = [r.model_dump(mode="json") if isinstance(r, EvidenceRecord) else r for r in records]
    effects = pd.DataFrame([_effect_row(r) for r in items], columns=_effect_columns())
    effects = effects.astype({c: t for c, t in _EFFECT_TYPES.items()})
    diagnostics = pd.DataFrame(
        [(r["id"], r["provenance"]["run_id"], r["study"], r["effect"]["method"], a["assumption"], a["status"],
          d["name"], d["status"], d["message"], d["statistic"], d["p_value"], d["threshold"])
         for r in items for a in r["assumptions"] for d in a["diagnostics"]], columns=_DIAG_COLUMNS)
    diagnostics = diagnostics.astype({"statistic": "float64", "p_value": "float64", "threshold": "float64"})
    grouped = effects.groupby("study", sort=True)
    studies = grouped.agg(
        question=("question", "last"), intervention=("intervention", "last"),
        intervention_key=("intervention_key", "last"), outcome=("outcome", "last"),
        outcome_key=("outcome_key", "last"), outcome_kind=("outcome_kind", "last"), design=("design", "last"),
        n_runs=("run_id", "nunique"), n_records=("record_id", "size"),
        methods=("method", lambda m: ",".join(sorted(set(m)))), first_recorded=("recorded_at", "min"),
        last_recorded=("recorded_at", "max"), latest_record=("record_id", "last"),
    ).reset_index()
    return {"studies": studies, "effects": effects, "diagnostics": diagnostics}


def _effect_columns() -> list[str]:
    from .record import record_dict_from_row

    return list(_effect_row(record_dict_from_row({"run_id": "r", "method": "m", "estimate": 0.0})))


def write_tables(records: Sequence[EvidenceRecord | dict[str, Any]], folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``studies.parquet``, ``effects.parquet`` and ``diagnostics.parquet`` into ``folder``."""
    out = Path(folder).expanduser()
    if out.exists() and not out.is_dir():
        raise EvidenceError(f"the Parquet tables go into a folder, and {str(out)!r} is a file; give a folder path.")
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in tables(records).items():
        paths[name] = out / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    return paths


def read_tables(folder: str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    """Read the three tables written by :func:`write_tables`."""
    base = Path(folder).expanduser()
    missing = [name for name in TABLES if not (base / f"{name}.parquet").is_file()]
    if missing:
        raise EvidenceError(f"{str(base)!r} lacks {', '.join(m + '.parquet' for m in missing)}; "
                            "write it with `causal-kit registry export --format parquet --out FOLDER`.")
    return {name: pd.read_parquet(base / f"{name}.parquet") for name in TABLES}
