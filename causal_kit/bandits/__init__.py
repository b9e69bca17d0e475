"""Price exploration with bandits: demand models, policies, a vectorised simulator and
off-policy evaluation of logged pricing data.

Submodules load on use: ``ope`` (off-policy evaluation), ``demand`` (demand models),
``policies`` (Thompson sampling, UCB, epsilon-greedy) and ``simulate`` (replicated simulation
against the oracle price and a fixed A/B price test).
"""

from __future__ import annotations
