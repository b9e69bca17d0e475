"""Numerical solvers shared by several method families: simplex-constrained least squares for
synthetic control, SDID and the design simulator (:mod:`causal_kit.solvers.simplex`)."""
