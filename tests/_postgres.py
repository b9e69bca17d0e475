"""A throw-away PostgreSQL server for the tests: Debian's binaries, a temp folder, a unix socket.

``postgres_url`` (session scope) starts ``initdb`` + ``pg_ctl`` under a fresh folder, as the
``postgres`` user when the tests run as root (PostgreSQL refuses to run as root), and yields a
URL such as ``postgresql://ck:secret@/ck?host=/tmp/ck-pg-x/sock&port=5433``. The server trusts
local connections, so the password in the URL is only there to check that it never leaks.
Tests skip with the reason when the binaries are not installed (``apt-get install postgresql``).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

PORT = 5433


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return os.path.dirname(found[-1])
    on_path = shutil.which("pg_ctl")
    return os.path.dirname(on_path) if on_path else None


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("PostgreSQL tests run as root need runuser to start the server as user postgres")
    return [runuser, "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    root = tempfile.mkdtemp(prefix="ck-pg-")
    data, sock = os.path.join(root, "data"), os.path.join(root, "sock")
    os.makedirs(sock)
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        os.chmod(root, 0o755)
        for path in (root, sock):
            os.chown(path, user.pw_uid, user.pw_gid)
    run = lambda *args: subprocess.run(_as_server_user(list(args)), check=True, capture_output=True, timeout=120)  # noqa: E731
    run(f"{bindir}/initdb", "-D", data, "-U", "ck", "--auth=trust", "--no-sync", "-E", "UTF8")
    options = f"-k {sock} -c listen_addresses='' -p {PORT} -c fsync=off -c max_connections=60"
    run(f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", os.path.join(root, "log"), "-w", "start")
    try:
        run(f"{bindir}/createdb", "-h", sock, "-p", str(PORT), "-U", "ck", "ck")
        yield f"postgresql://ck:secret@/ck?host={sock}&port={PORT}"
    finally:
        subprocess.run(_as_server_user([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    """``postgres_url`` with the registry tables dropped before and after the test."""
    import psycopg

    def drop() -> None:
        with psycopg.connect(postgres_url.replace("ck:secret@", "ck@"), autocommit=True) as con:
            con.execute("DROP TABLE IF EXISTS runs, schema_version CASCADE")

    drop()
    yield postgres_url
    drop()
