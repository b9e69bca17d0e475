"""Business translation of an effect, as the reports read it.

The translation itself (incremental outcome, % lift, cost per unit and iROAS, from the
semantic outcome model) lives once in :mod:`causal_kit.outcome`, so that estimators, cards and
the CLI read the same numbers; this module re-exports it for report code.
"""

from __future__ import annotations

from ..outcome import BusinessImpact, OutcomeModel, business_impact, outcome_model, spec_of

__all__ = ["BusinessImpact", "OutcomeModel", "business_impact", "outcome_model", "spec_of"]
