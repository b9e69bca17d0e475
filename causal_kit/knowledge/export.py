"""One entry point for exporting a registry as knowledge: JSON-LD, Turtle or Parquet tables.

``causal-kit registry export --format jsonld|ttl|parquet`` calls :func:`export_registry`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args

from ..errors import SpecError
from ..registry import Registry
from .collect import record_dicts

__all__ = ["KnowledgeFormat", "export_registry"]

KnowledgeFormat = Literal["jsonld", "ttl", "parquet"]


def export_registry(out: str | os.PathLike[str], format: KnowledgeFormat = "jsonld", *,
                    registry: Registry | str | os.PathLike[str] | None = None,
                    base: str = "urn:causal-kit:") -> list[Path]:
    """Export every estimate run of ``registry`` as evidence records; return the files written.

    Parameters
    ----------
    out : path
        The file (``jsonld``, ``ttl``) or the folder (``parquet``: studies, effects, diagnostics).
    format : {"jsonld", "ttl", "parquet"}
    registry : Registry or path, optional
    base : str
        IRI prefix of the records, runs, studies, data and specs.

    Examples
    --------
    >>> import tempfile, causal_kit as ck
    >>> from causal_kit.knowledge.export import export_registry
    >>> folder = tempfile.mkdtemp()
    >>> reg = ck.registry.Registry(folder + "/runs.duckdb")
    >>> spec = ck.ExperimentSpec(name="checkout", design="ab", outcome="y", treatment="treat")
    >>> _ = reg.record(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec), spec=spec)
    >>> [p.name for p in export_registry(folder + "/evidence", "parquet", registry=reg)]
    ['studies.parquet', 'effects.parquet', 'diagnostics.parquet']
    """
    if format not in get_args(KnowledgeFormat):
        raise SpecError(f"The 'format' parameter of export_registry must be one of 'jsonld', 'ttl', 'parquet'. "
                        f"Got {format!r} instead.")
    items = record_dicts(registry)
    if format == "jsonld":
        from .graph import write_jsonld

        return [write_jsonld(items, out, base=base)]
    if format == "ttl":
        from .graph import write_turtle

        return [write_turtle(items, out, base=base)]
    from .tables import write_tables

    return list(write_tables(items, out).values())
