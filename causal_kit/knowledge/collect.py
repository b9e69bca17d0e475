"""Evidence records of a whole registry, linked to the related studies.

:func:`records` reads every estimate run through the public :class:`~causal_kit.registry.Registry`
API and turns each row into an :class:`~causal_kit.knowledge.record.EvidenceRecord`;
:func:`link_related` adds, to each record, the other studies that share its intervention, its
outcome or one of its markets (the most recent first, at most ``limit`` per record).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from ..registry import Registry
from .record import EvidenceRecord, Links, Related, record_from_row

__all__ = ["records", "link_related", "records_from_frame"]


def records_from_frame(frame: Any, *, registry_version: int | None = None, link: bool = True,
                       limit: int = 25) -> list[EvidenceRecord]:
    """Evidence records of the estimate rows of a registry ``runs`` frame (design runs are skipped)."""
    rows = frame.to_dict("records") if hasattr(frame, "to_dict") else list(frame)
    out = [record_from_row(r, registry_version=registry_version) for r in rows
           if (r.get("kind") or "estimate") == "estimate"]
    return link_related(out, limit=limit) if link else out


def records(registry: Registry | str | os.PathLike[str] | None = None, *, study: str | None = None,
            link: bool = True, limit: int = 25) -> list[EvidenceRecord]:
    """Every estimate run of the registry (or of one study) as evidence records, oldest first.

    Parameters
    ----------
    registry : Registry or path, optional
        Defaults to the default registry file.
    study : str, optional
        Only this study's runs.
    link : bool
        Fill ``links.related`` (see :func:`link_related`).
    limit : int
        At most this many related records per record.

    Examples
    --------
    >>> import tempfile, causal_kit as ck
    >>> from causal_kit.knowledge import records
    >>> reg = ck.registry.Registry(tempfile.mkdtemp() + "/runs.duckdb")
    >>> spec = ck.ExperimentSpec(name="checkout", design="ab", outcome="y", treatment="treat")
    >>> _ = reg.record(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec), spec=spec)
    >>> [r.study for r in records(reg)]
    ['checkout']
    """
    reg = registry if isinstance(registry, Registry) else Registry(registry)
    frame = reg.history(study) if study is not None else reg.runs()
    return records_from_frame(frame, registry_version=reg.schema_version(), link=link, limit=limit)


def link_related(items: Sequence[EvidenceRecord], *, limit: int = 25) -> list[EvidenceRecord]:
    """The records with ``links.related`` filled: other studies with the same intervention, outcome or a market.

    Examples
    --------
    >>> from causal_kit.knowledge.record import record_from_row
    >>> rows = [{"run_id": f"r{i}", "name": f"study-{i}", "method": "ab", "estimate": 1.0, "ci_low": 0.5,
    ...          "ci_high": 1.5, "spec": "name: s\\noutcome: orders\\n"} for i in range(2)]
    >>> linked = link_related([record_from_row(r) for r in rows])
    >>> linked[0].links.related[0].relations
    ['same_outcome']
    """
    # per key, the newest record of each study that has it, newest first
    newest: dict[tuple[str, str], dict[str, int]] = {}
    for i, rec in enumerate(items):
        for key in _keys(rec):
            newest.setdefault(key, {})[rec.study] = i
    ranked = {key: sorted(studies.values(), reverse=True) for key, studies in newest.items()}
    out = []
    for rec in items:
        found: dict[int, list[str]] = {}
        for key in _keys(rec):
            taken = 0
            for j in ranked[key]:
                if items[j].study == rec.study:
                    continue
                if taken >= limit:
                    break
                taken += 1
                if j in found or len(found) < limit:
                    rels = found.setdefault(j, [])
                    if key[0] not in rels:
                        rels.append(key[0])
        related = [Related(id=items[j].id, study=items[j].study, relations=rels) for j, rels in
                   sorted(found.items(), key=lambda kv: -kv[0])]
        out.append(rec.model_copy(update={"links": Links(report=rec.links.report, related=related)}) if related else rec)
    return out


def _keys(rec: EvidenceRecord) -> Iterable[tuple[str, str]]:
    yield ("same_intervention", rec.intervention.key)
    yield ("same_outcome", rec.outcome.key)
    for market in rec.intervention.markets:
        yield ("same_markets", market.lower())
