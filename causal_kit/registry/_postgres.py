"""The registry's PostgreSQL backend: a psycopg (v3) connection behind DuckDB's small API.

Teams whose schedulers run on several hosts point the registry at a shared server
(``CAUSAL_KIT_REGISTRY=postgresql://user:password@host:5432/db``). The registry code and the
calendar talk to both backends through the same calls, so they write standard SQL once:

* ``con.execute(sql, params)`` with ``?`` placeholders, then ``.fetchone()``, ``.fetchall()``
  or ``.df()`` (a pandas frame);
* ``con.begin()``, ``con.commit()``, ``con.rollback()``; outside ``begin`` every statement
  commits on its own, as in DuckDB.

Concurrency comes from the server's transactions (no file lock); schema creation and
migrations take a transaction-scoped advisory lock so that two hosts never migrate at once.
Passwords never appear in errors, logs or reprs (:func:`causal_kit._parallel.mask_url`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import BackendError

#: Seconds to wait for the server before :class:`RegistryConnectionError` (libpq's minimum is 2).
CONNECT_TIMEOUT = 8

#: Advisory-lock key serialising schema creation and migrations across hosts.
SCHEMA_LOCK_KEY = 7_104_202_611

URL_PREFIXES = ("postgresql://", "postgres://")


def is_postgres_url(location: Any) -> bool:
    """True when ``location`` is a PostgreSQL URL rather than a DuckDB file path."""
    return isinstance(location, str) and location.lower().startswith(URL_PREFIXES)


def translate(sql: str) -> str:
    """DuckDB-style ``?`` placeholders to psycopg's ``%s`` (and a literal ``%`` to ``%%``),
    leaving quoted text alone."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class PostgresConnection:
    """One psycopg connection with the registry's connection API (see the module docstring)."""

    dialect = "postgres"

    def __init__(self, raw: Any, masked: str) -> None:
        self._raw = raw
        self._cursor: Any = None
        self.masked = masked

    def __repr__(self) -> str:
        return f"PostgresConnection({self.masked!r})"

    def execute(self, sql: str, params: Any = None) -> PostgresConnection:
        self._cursor = self._raw.cursor()
        self._cursor.execute(translate(sql) if params else sql, list(params) if params else None)
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cursor.fetchall()

    def df(self) -> pd.DataFrame:
        names = [d.name for d in self._cursor.description or ()]
        return pd.DataFrame(self._cursor.fetchall(), columns=names)

    def begin(self) -> None:
        self._raw.execute("BEGIN")

    def commit(self) -> None:
        self._raw.execute("COMMIT")

    def rollback(self) -> None:
        self._raw.execute("ROLLBACK")

    def lock_schema(self) -> None:
        """Serialise schema changes across hosts until the current transaction ends."""
        self._raw.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK_KEY])

    def close(self) -> None:
        self._raw.close()


class RegistryConnectionError(BackendError):
    """The registry's database server cannot be reached, or its driver is not installed."""


def connect(url: str, *, timeout: float) -> PostgresConnection:
    """Open ``url`` within ``min(timeout, CONNECT_TIMEOUT)`` seconds or raise, credentials masked."""
    from .._parallel import mask_url

    masked = mask_url(url)
    try:
        import psycopg
    except ImportError:
        raise RegistryConnectionError(
            f"the registry {masked!r} is a PostgreSQL database, which needs psycopg; install it with "
            "pip install 'causal-kit[postgres]'."
        ) from None
    wait = max(2, int(min(timeout, CONNECT_TIMEOUT)))
    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=wait, application_name="causal_kit")
    except psycopg.Error as exc:
        raise RegistryConnectionError(
            f"cannot connect to the registry {masked!r} within {wait} s: {clean_error(exc, url)}. Check the host, "
            "port, database and user in the URL (or $CAUSAL_KIT_REGISTRY), and that the server is running."
        ) from None
    return PostgresConnection(raw, masked)


def clean_error(exc: BaseException, url: str) -> str:
    """The first line of a driver error with any password from ``url`` removed."""
    from urllib.parse import unquote, urlsplit

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    password = urlsplit(url).password
    for secret in {password, unquote(password or "")} - {None, ""}:
        text = text.replace(str(secret), "***")
    return text
