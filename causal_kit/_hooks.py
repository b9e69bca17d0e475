"""Services that an upper layer provides to a lower one, registered at import.

A result renders, plots and summarises itself, and a spec validates itself against data, but
the code that does so lives on upper floors (``plots/``, ``report/``, ``_data``). Lower
floors never import upper ones; instead each upper package registers its service here when
it is imported (``causal_kit/__init__`` imports them), and the lower object calls
:func:`call`.

Examples
--------
>>> from causal_kit import _hooks
>>> _hooks.register("example_double", lambda x: 2 * x)
>>> _hooks.call("example_double", 21)
42
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register", "call", "provided"]

_SERVICES: dict[str, Callable[..., Any]] = {}


def register(name: str, func: Callable[..., Any]) -> None:
    """Provide the service ``name`` (a later registration replaces an earlier one)."""
    _SERVICES[name] = func


def provided(name: str) -> bool:
    """True when some package has registered the service ``name``."""
    return name in _SERVICES


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the registered service ``name``; ``RuntimeError`` naming it when none is registered."""
    try:
        func = _SERVICES[name]
    except KeyError:
        raise RuntimeError(
            f"causal_kit service {name!r} is not registered: import causal_kit (which registers the "
            "plotting and report services) before calling it."
        ) from None
    return func(*args, **kwargs)
