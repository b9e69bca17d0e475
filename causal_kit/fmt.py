"""Number formatting: the only place where numbers become strings.

Money is compact ("$28.2M"), counts have thousands separators, percents one decimal,
p-values stop at "< 0.001", dates drop a midnight time, integer periods print as whole
numbers ("2003", never "2,003.5"). Reports, cards, plots and the CLI all format through here.
"""

from __future__ import annotations

import math

__all__ = [
    "num", "pct", "money", "pvalue", "interval", "signed", "level", "count", "ratio", "amount",
    "stat", "plain", "timestamp", "compact", "date", "period", "effect", "symbol",
]

#: Currency codes written as a symbol before the number.
SYMBOLS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3", "JPY": "\u00a5", "INR": "\u20b9", "AUD": "A$", "CAD": "C$"}


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


def symbol(currency: str | None) -> str:
    """The symbol written for ``currency`` ('USD' -> '$'), or the code itself.

    Examples
    --------
    >>> symbol("USD"), symbol("CHF")
    ('$', 'CHF')
    """
    return SYMBOLS.get(str(currency).upper(), str(currency)) if currency else ""


def compact(x: float | None, digits: int = 3) -> str:
    """A big number in compact form: 28243551 -> '28.2M', 7209 -> '7,209', 0.256 -> '0.256'.

    Examples
    --------
    >>> compact(28_243_551), compact(7209), compact(0.256)
    ('28.2M', '7,209', '0.256')
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    ax = abs(x)
    if ax < 1e5:
        return num(x, digits)
    # Round to ``digits`` significant digits first, so 999,999 reads '1.00M', not '1000K'.
    ax = float(f"{ax:.{digits}g}")
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if ax >= size:
            decimals = max(0, digits - 1 - int(math.floor(math.log10(ax / size))))
            return f"{'-' if x < 0 else ''}{ax / size:,.{decimals}f}{suffix}"
    return num(x, digits)


def money(x: float | None, currency: str | None = None, digits: int = 3) -> str:
    """A compact money amount with its currency: '$28.2M', '$7,209', '-$1.53', '123K CHF'.

    Examples
    --------
    >>> money(28_243_551, "USD"), money(-1.53, "USD"), money(123_456, "CHF")
    ('$28.2M', '-$1.53', '123K CHF')
    """
    if currency in (None, ""):
        return compact(x, digits)
    body = compact(abs(x) if x is not None else x, digits)
    sign = "-" if x is not None and x < 0 else ""
    sym = symbol(currency)
    if len(sym) <= 2:
        return f"{sign}{sym}{body}"
    return f"{sign}{body} {sym}"


def pvalue(p: float | None) -> str:
    """A p-value: '< 0.001' for tiny values, else three decimals."""
    if p is None or not math.isfinite(p):
        return "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


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
    """An amount in outcome units: compact money when ``is_money`` and a currency is given."""
    return money(x, currency, digits) if is_money and currency else compact(x, digits)


def effect(x: float | None, model: object = None, relative: bool = False, sign: bool = True) -> str:
    """An effect with its unit, read from an :class:`~causal_kit.outcome.OutcomeModel`.

    '+52.3 orders', '-19.7 packs', '+$1,759', or '-6.9%' for a relative change.

    Examples
    --------
    >>> from causal_kit.outcome import OutcomeModel
    >>> effect(52.3, OutcomeModel("count", "orders", unit="orders")), effect(-0.069, relative=True)
    ('+52.3 orders', '-6.9%')
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    if relative:
        return pct(x, 1, sign=sign)
    if model is not None and getattr(model, "is_money", False):
        text = money(x, getattr(model, "currency", None))
        return ("+" + text) if sign and x > 0 else text
    text = signed(x) if sign else num(x)
    if abs(x) >= 1e5:
        text = (("+" if sign and x > 0 else "") + compact(x))
    unit = getattr(model, "unit", "") if model is not None else ""
    return f"{text} {unit}".strip()


def stat(x: float | None, digits: int = 3) -> str:
    """A test statistic or threshold; 'n/a' when missing."""
    return num(x, digits)


def plain(value: object) -> str:
    """Any scalar for display: floats via :func:`num`, dates via :func:`date`, else ``str``."""
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return count(value) if abs(value) >= 10000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        return count(value) if value.is_integer() and abs(value) < 1e15 else num(value, 4)
    try:
        import numpy as np

        if isinstance(value, np.integer):
            return plain(int(value))
        if isinstance(value, np.floating):
            return plain(float(value))
        if isinstance(value, np.datetime64):
            return date(value)
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    from datetime import date as _date
    from datetime import datetime

    if isinstance(value, (_date, datetime)) or type(value).__name__ == "Timestamp":
        return date(value)
    return str(value)


def date(value: object) -> str:
    """A date without a time part when the time is midnight: '2024-03-13' or '2024-03-13 09:30'.

    Examples
    --------
    >>> date("2024-03-13T00:00:00.000000"), date("2024-03-13T09:30:00")
    ('2024-03-13', '2024-03-13 09:30')
    """
    return timestamp(value)


def period(value: object) -> str:
    """A period label: whole numbers for integer periods (2003, never '2,003.0'), dates via :func:`date`.

    Examples
    --------
    >>> period(2003.0), period("2024-04-30T00:00:00.000000")
    ('2003', '2024-04-30')
    """
    if isinstance(value, bool):
        return str(value)
    try:
        import numpy as np

        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, (float, np.floating)):
            v = float(value)
            return str(int(v)) if v.is_integer() else f"{v:g}"
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, str):
        if "T00:00:00" in value or len(value) >= 10 and value[4:5] == "-":
            return date(value)
        return value
    return plain(value)


def timestamp(value: object) -> str:
    """A date-time to the minute ('2024-01-08 09:30'); the date alone at midnight; others via ``str``."""
    try:
        import pandas as pd

        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if pd.isna(ts):
        return "n/a"
    return ts.strftime("%Y-%m-%d %H:%M") if (ts.hour or ts.minute) else ts.strftime("%Y-%m-%d")
