"""A throwaway PostgreSQL cluster for the tests and benchmarks: ``initdb`` in a temporary
folder, a free port on 127.0.0.1, ``scram-sha-256`` for every TCP connection, stopped and
removed at the end.  Run as root, the server runs as the ``postgres`` user (``runuser``), as
PostgreSQL refuses to run as root.

Roles made here: ``postgres`` (superuser, only to set the cluster up) and ``tester`` (the role
the tests' team ledgers belong to: LOGIN CREATEDB CREATEROLE, so it can create databases and
team members, as the README's owner role does).  Passwords live in a ``pgpass`` file that
libpq reads (``passfile=`` in every URL), never in a URL.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

OWNER = "tester"


def bindir() -> Path | None:
    """Debian's PostgreSQL binaries (the newest version installed), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A running throwaway cluster; :meth:`url` names a database in it as a given role."""

    def __init__(self) -> None:
        bins = bindir()
        if bins is None:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.bin = bins
        self.root = Path(tempfile.mkdtemp(prefix="forecasts-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.passfile = self.root / "pgpass"
        self.passwords = {"postgres": secrets.token_urlsafe(16), OWNER: secrets.token_urlsafe(16)}
        if self.as_root:
            shutil.chown(self.root, "postgres")
        pwfile = self.root / "superuser-password"
        pwfile.write_text(self.passwords["postgres"])
        if self.as_root:
            shutil.chown(pwfile, "postgres")
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--pwfile", str(pwfile),
                 "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        pwfile.unlink()
        self.start()
        self._write_passfile()
        self.sql(f"CREATE ROLE {OWNER} LOGIN CREATEDB CREATEROLE PASSWORD '{self.passwords[OWNER]}'")

    def _pg(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                "-c shared_buffers=256MB")
        self._pg("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def _write_passfile(self) -> None:
        lines = [f"127.0.0.1:{self.port}:*:{role}:{pw}" for role, pw in self.passwords.items()]
        self.passfile.write_text("\n".join(lines) + "\n")
        self.passfile.chmod(0o600)

    def add_password(self, role: str, password: str) -> None:
        """Let libpq find ``role``'s password (as a user's own pgpass would)."""
        self.passwords[role] = password
        self._write_passfile()

    def url(self, database: str = "postgres", role: str = OWNER, *, passfile: Path | None = None) -> str:
        return (f"postgresql://{role}@127.0.0.1:{self.port}/{database}"
                f"?passfile={passfile or self.passfile}")

    def sql(self, statement: str, database: str = "postgres", role: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database, role), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def new_database(self, name: str, template: str | None = None) -> str:
        """A fresh database owned by the tests' role (a copy of ``template`` if given); its URL."""
        tail = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        self.sql(f"CREATE DATABASE {name} OWNER {OWNER}{tail}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the test cluster did not come back")
            time.sleep(0.1)
