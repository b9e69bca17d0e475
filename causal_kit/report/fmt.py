"""Number formatting for reports: re-exports :mod:`causal_kit.fmt`, the one formatting module.

The functions live on the package's ground floor so that plots and results can label numbers
without importing the report layer.
"""

from __future__ import annotations

from ..fmt import *  # noqa: F401,F403
from ..fmt import __all__  # noqa: F401
