"""Benchmarks: causal_kit against peer packages and numpy floors, in one run."""
