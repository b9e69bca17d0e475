"""Results as knowledge: evidence records, knowledge-graph export, evidence synthesis, assistant tools.

- :mod:`~causal_kit.knowledge.record`: the typed :class:`EvidenceRecord` and its JSON Schema;
- :mod:`~causal_kit.knowledge.collect`: records of a whole registry, linked to related studies;
- :mod:`~causal_kit.knowledge.synthesis`: random-effects meta-analysis across studies (``causal_kit.synthesize``).

Heavy pieces (rdflib, pyarrow, the MCP server) load only when used.
"""

from __future__ import annotations

from .collect import link_related, records, records_from_frame
from .record import (
    RECORD_VERSION,
    EvidenceError,
    EvidenceRecord,
    evidence_schema,
    record_dict_from_row,
    record_from_result,
    record_from_row,
)
from .synthesis import MetaAnalysis, meta_analysis, synthesize

__all__ = [
    "RECORD_VERSION", "EvidenceError", "EvidenceRecord", "evidence_schema", "record_from_result",
    "record_from_row", "record_dict_from_row", "records", "records_from_frame", "link_related", "MetaAnalysis", "meta_analysis", "synthesize",
]
