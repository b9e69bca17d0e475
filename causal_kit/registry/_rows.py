"""Row builders of the results registry: one ``runs`` row per estimate or design result.

Pure functions of a result and its spec (no connection), plus :func:`_insert`, which writes a
row with ``?`` placeholders through either backend's connection.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from ..result import EffectEstimate
    from ..spec import ExperimentSpec


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _spec_yaml(spec: ExperimentSpec | dict[str, Any] | None) -> str | None:
    if spec is None:
        return None
    if isinstance(spec, dict):
        return yaml.safe_dump(spec, sort_keys=False) if spec else None
    return spec.to_yaml()


def _estimate_row(result: EffectEstimate, spec: ExperimentSpec | None, **common: Any) -> dict[str, Any]:
    lineage = result.lineage
    return {
        **common,
        "kind": "estimate",
        "name": common["name"] or (lineage.spec.get("name") if lineage else None) or result.method,
        "design": result.design or None,
        "method": result.method,
        "estimand": result.estimand,
        "estimate": _num(result.estimate),
        "se": _num(result.se),
        "ci_low": _num(result.ci[0]),
        "ci_high": _num(result.ci[1]),
        "p_value": _num(result.p_value),
        "alpha": _num(result.alpha),
        "n_obs": _int(result.n_obs),
        "n_units": _int(result.n_units),
        "worst_status": result.worst_status,
        "diagnostics": json.dumps([{"name": d.name, "status": d.status} for d in result.diagnostics]),
        "spec": _spec_yaml(spec) or _spec_yaml(lineage.spec if lineage else None),
        "spec_hash": spec.spec_hash if spec is not None else (lineage.spec_hash if lineage else None),
        "data_fingerprint": lineage.data_fingerprint if lineage else None,
        "lineage": json.dumps(lineage.to_dict(), default=str) if lineage else None,
        "details": json.dumps({**result.details, "evidence": _evidence_extras(result)}, default=str),
        "data_end": _data_end(result),
        **_look_columns(result),
    }


def _evidence_extras(result: EffectEstimate) -> dict[str, Any]:
    """What an evidence record needs beyond the columns: full diagnostics and the business-unit inputs."""
    return {
        "diagnostics": [d.to_dict() for d in result.diagnostics],
        "outcome": result.outcome or None,
        "baseline": _num(result.baseline),
        "exposure": _num(result.exposure),
        "relative_ci": [_num(v) for v in result.relative_ci] if result.relative_ci is not None else None,
        "n_dropped": _int(result.n_dropped),
        "inference": result.inference or None,
        "label": result.label or None,
    }


def _data_end(result: EffectEstimate) -> str | None:
    """The data's last period recorded by ``causal_kit.estimate`` (``None`` when it has no time role)."""
    end = result.details.get("data_end") if isinstance(result.details, dict) else None
    return None if end is None else str(end)


def _look_columns(result: EffectEstimate) -> dict[str, Any]:
    """Look number, key and decision of a sequential readout (empty for a fixed-horizon one)."""
    seq = result.details.get("sequential") if isinstance(result.details, dict) else None
    if not isinstance(seq, dict) or seq.get("look") is None:
        return {}
    return {"look": int(seq["look"]), "look_key": str(seq.get("look_key")), "decision": seq.get("decision")}


def _design_row(design: Any, spec: ExperimentSpec | None, **common: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if hasattr(design, "to_dict"):
        payload = design.to_dict()
    elif hasattr(design, "to_json"):
        payload = json.loads(design.to_json())
    scalars = {k: v for k, v in payload.items() if isinstance(v, (int, float, str, bool)) or v is None}
    lineage = payload.get("lineage") if isinstance(payload.get("lineage"), dict) else None
    return {
        **common,
        "kind": "design",
        "name": common["name"] or (spec.name if spec is not None else "design"),
        "design": spec.design if spec is not None else None,
        "method": str(getattr(design, "method", None) or payload.get("method") or "design"),
        "alpha": _num(spec.alpha) if spec is not None else None,
        "worst_status": getattr(design, "worst_status", None) or payload.get("worst_status"),
        "spec": _spec_yaml(spec),
        "spec_hash": spec.spec_hash if spec is not None else None,
        "data_fingerprint": (lineage or {}).get("data_fingerprint"),
        "lineage": json.dumps(lineage, default=str) if lineage else None,
        "details": json.dumps(scalars, default=str),
    }


def _insert(con: Any, row: dict[str, Any]) -> None:
    from . import COLUMNS

    cols = [c for c in COLUMNS if c in row]
    names = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" for _ in cols)
    con.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", [row[c] for c in cols])
