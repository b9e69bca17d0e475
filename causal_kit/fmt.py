"""Number formatting: the only place where numbers become strings."""

from __future__ import annotations

import math

__all__ = [
    "num", "pct", "money", "pvalue", "interval", "signed", "level", "count", "ratio", "amount",
    "stat", "plain", "timestamp",
]


def num(x: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, thousands separators for big values."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(ax))))
    return f"{x:,.{min(decimals, 6)}f}"


def signed(x: float | None, digits: int = 3) -> str:
    """Like :func:`num` with an explicit sign."""
    s = num(x, digits)
    return s if s.startswith("-") or s == "n/a" or s == "0" else "+" + s


def pct(x: float | None, digits: int = 1, sign: bool = False) -> str:
    """A fraction as a percentage: 0.041 -> '4.1%'."""
    if x is None or not math.isfinite(x):
        return "n/a"
    s = f"{100 * x:.{digits}f}%"
    return ("+" + s) if sign and x > 0 else s


def money(x: float | None, currency: str | None = None, digits: int = 3) -> str:
    """A money amount with its currency: 'USD 1,234' or '$1,234'."""
    if currency in (None, ""):
        return num(x, digits)
    body = num(abs(x) if x is not None else x, digits)
    sign = "-" if x is not None and x < 0 else ""
    if len(currency) == 1:
        return f"{sign}{currency}{body}"
    return f"{sign}{body} {currency}"


def pvalue(p: float | None) -> str:
    """A p-value: '< 0.001' for tiny values, else three decimals."""
    if p is None or not math.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def interval(lo: float, hi: float, digits: int = 3, percent: bool = False) -> str:
    """'[lo, hi]' formatted as numbers or percentages."""
    f = (lambda v: pct(v, 1)) if percent else (lambda v: num(v, digits))
    return f"[{f(lo)}, {f(hi)}]"


def level(alpha: float) -> str:
    """The confidence level of ``alpha`` as a percentage: 0.05 -> '95%'."""
    value = 100 * (1 - alpha)
    return f"{value:.0f}%" if abs(value - round(value)) < 1e-9 else f"{value:.1f}%"


def count(n: float | None) -> str:
    """A count with thousands separators: 12345 -> '12,345'."""
    if n is None or (isinstance(n, float) and not math.isfinite(n)):
        return "n/a"
    return f"{int(round(n)):,}"


def ratio(x: float | None, digits: int = 2) -> str:
    """A ratio such as an iROAS, with ``digits`` decimals: 2.345 -> '2.35'."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:,.{digits}f}"


def amount(x: float | None, currency: str | None = None, is_money: bool = False, digits: int = 3) -> str:
    """An amount in outcome units: money when ``is_money`` and a currency is given."""
    return money(x, currency, digits) if is_money and currency else num(x, digits)


def stat(x: float | None, digits: int = 3) -> str:
    """A test statistic or threshold; 'n/a' when missing."""
    return num(x, digits)


def plain(value: object) -> str:
    """Any scalar for display: floats via :func:`num`, everything else via ``str``."""
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return count(value) if abs(value) >= 10000 else str(value)
    if isinstance(value, float):
        return count(value) if value.is_integer() and abs(value) < 1e15 else num(value, 4)
    try:
        import numpy as np

        if isinstance(value, np.integer):
            return plain(int(value))
        if isinstance(value, np.floating):
            return plain(float(value))
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return str(value)


def timestamp(value: object) -> str:
    """A date-time to the minute ('2024-01-08 09:30'); other values via ``str``."""
    try:
        import pandas as pd

        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if pd.isna(ts):
        return "n/a"
    return ts.strftime("%Y-%m-%d %H:%M") if (ts.hour or ts.minute) else ts.strftime("%Y-%m-%d")
