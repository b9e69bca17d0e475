"""``import causal_kit`` stays light: heavy libraries load only when used."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_heavy_modules():
    code = (
        "import sys, causal_kit; "
        "heavy = [m for m in ('econml', 'dowhy', 'sklearn', 'statsmodels', 'linearmodels', 'plotly', 'scipy') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
