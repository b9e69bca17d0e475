"""Number formatting: the only place where numbers become strings."""

from __future__ import annotations

import math

__all__ = ["num", "pct", "money", "pvalue", "interval", "signed"]


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
