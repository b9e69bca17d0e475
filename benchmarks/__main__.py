"""Run every benchmark: ``python -m benchmarks [--quick] [--only NAME]``.

Prints one table with our time, the peer's time in the same process, the ratio and whether
the numbers agree. Peers are installed only through the ``bench`` extra
(``pip install -e ".[bench]"``); a missing peer is reported, not fatal.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", default=None, help="run only benchmarks/bench_NAME.py")
    args = parser.parse_args()
    here = Path(__file__).parent
    rows = []
    for mod in sorted(pkgutil.iter_modules([str(here)])):
        if not mod.name.startswith("bench_"):
            continue
        if args.only and mod.name != f"bench_{args.only}":
            continue
        module = importlib.import_module(f"benchmarks.{mod.name}")
        print(f"running {mod.name} ...", flush=True)
        rows.extend(module.run(quick=args.quick))
    table = pd.DataFrame(rows)
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 60):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
