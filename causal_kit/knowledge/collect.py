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
from .record import EvidenceRecord, Links, record_dict_from_row, record_from_row

__all__ = ["records", "link_related", "records_from_frame", "record_dicts"]


def records_from_frame(frame: Any, *, registry_version: int | None = None, link: bool = True,
                       limit: int = 10) -> list[EvidenceRecord]:
    """Evidence records of the estimate rows of a registry ``runs`` frame (design runs are skipped)."""
    rows = frame.to_dict("records") if hasattr(frame, "to_dict") else list(frame)
    out = [record_from_row(r, registry_version=registry_version) for r in rows
           if (r.get("kind") or "estimate") == "estimate"]
    return link_related(out, limit=limit) if link else out


def record_dicts(registry: Registry | str | os.PathLike[str] | None = None, *, limit: int = 10) -> list[dict[str, Any]]:
    """:func:`records` as plain JSON-ready dicts (linked), for bulk exports: no pydantic model per record."""
    reg = registry if isinstance(registry, Registry) else Registry(registry)
    version = reg.schema_version()
    rows = reg.run_rows()
    out = [record_dict_from_row(r, registry_version=version) for r in rows if (r.get("kind") or "estimate") == "estimate"]
    keys = [_dict_keys(d) for d in out]
    for d, related in zip(out, _related([(d["id"], d["study"]) for d in out], keys, limit)):
        d["links"]["related"] = [{"id": i, "study": s, "relations": rels} for i, s, rels in related]
    return out


def records(registry: Registry | str | os.PathLike[str] | None = None, *, study: str | None = None,
            link: bool = True, limit: int = 10) -> list[EvidenceRecord]:
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


def link_related(items: Sequence[EvidenceRecord], *, limit: int = 10) -> list[EvidenceRecord]:
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
    keys = [list(_keys(r)) for r in items]
    out = []
    for rec, related in zip(items, _related([(r.id, r.study) for r in items], keys, limit)):
        if related:
            # one validation per record (not one per link): exports of 100,000 records stay fast
            links = Links.model_validate({"report": rec.links.report, "related": [
                {"id": i, "study": s, "relations": rels} for i, s, rels in related]})
            rec = rec.model_copy(update={"links": links})
        out.append(rec)
    return out


def _related(ids: Sequence[tuple[str, str]], keys: Sequence[list[tuple[str, str]]],
             limit: int) -> list[list[tuple[str, str, list[str]]]]:
    """For each record, ``(id, study, relations)`` of the newest record of up to ``limit`` other studies."""
    newest: dict[tuple[str, str], dict[str, int]] = {}
    for i, (_, study) in enumerate(ids):
        for key in keys[i]:
            newest.setdefault(key, {})[study] = i
    ranked = {key: sorted(studies.values(), reverse=True) for key, studies in newest.items()}
    out = []
    memo: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[str, str, list[str]]]] = {}
    for i, (_, study) in enumerate(ids):
        # runs of one study share their keys: their related lists are the same
        memo_key = (study, tuple(keys[i]))
        if memo_key in memo:
            out.append(memo[memo_key])
            continue
        found: dict[int, list[str]] = {}
        for key in keys[i]:
            taken = 0
            for j in ranked[key]:
                if ids[j][1] == study:
                    continue
                if taken >= limit:
                    break
                taken += 1
                if j in found or len(found) < limit:
                    rels = found.setdefault(j, [])
                    if key[0] not in rels:
                        rels.append(key[0])
        memo[memo_key] = [(ids[j][0], ids[j][1], rels) for j, rels in sorted(found.items(), key=lambda kv: -kv[0])]
        out.append(memo[memo_key])
    return out


def _dict_keys(d: dict[str, Any]) -> list[tuple[str, str]]:
    keys = [("same_intervention", d["intervention"]["key"]), ("same_outcome", d["outcome"]["key"])]
    keys += [("same_markets", str(m).lower()) for m in d["intervention"]["markets"]]
    return keys


def _keys(rec: EvidenceRecord) -> Iterable[tuple[str, str]]:
    yield ("same_intervention", rec.intervention.key)
    yield ("same_outcome", rec.outcome.key)
    for market in rec.intervention.markets:
        yield ("same_markets", market.lower())
