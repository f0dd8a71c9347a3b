"""Members of a team ledger: PostgreSQL login roles in the ledger's group roles.

A member's name is their forecaster name on the ledger (the server writes it into every live
row they make).  Each is one of:

``analyst``  logs forecasts, corrections, retractions and evidence as themselves; reads everything;
``editor``   adds questions, events and resolutions as themselves (and is an analyst too);
``importer`` writes history (``import:*``, ``model:*``, ``backtest:*`` rows) and may write in
             another's name (``--by``): imports, model updates, pushes;
``admin``    adds members and restores a ledger (a role with CREATEROLE), and is all of the above.

A member's session that sits idle inside a transaction for 60 s is ended by the server, so no
one can hold the chain's lock (and stop the team writing) by leaving a transaction open.

Passwords: the one given, or a new random one returned once.  It is sent to the server only as
a SCRAM-SHA-256 verifier computed here (libpq's ``PQencryptPasswordConn``), so the password
itself is in no statement, log or ledger row.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Literal

from forecasts import domain
from forecasts.errors import InvalidInput

if TYPE_CHECKING:
    from forecasts.ledger.store import Ledger

Role = Literal["analyst", "editor", "importer", "admin"]
ROLES: tuple[Role, ...] = ("analyst", "editor", "importer", "admin")
#: The group roles each kind of member joins.
GRANTS: dict[str, tuple[str, ...]] = {
    "analyst": ("forecasts_analyst",),
    "editor": ("forecasts_analyst", "forecasts_editor"),
    "importer": ("forecasts_analyst", "forecasts_importer"),
    "admin": ("forecasts_analyst", "forecasts_editor", "forecasts_importer", "forecasts_admin"),
}


def _storage(ledger: Ledger):  # -> PostgresStorage
    from forecasts.ledger.postgres_storage import PostgresStorage

    if not isinstance(ledger.storage, PostgresStorage):
        raise InvalidInput(f"{ledger.location} is a DuckDB file: team members belong to a team ledger "
                           "(--db postgresql://...)")
    return ledger.storage


def member_name(value: object) -> str:
    """A member's name: a person's forecaster name that PostgreSQL can hold as a role."""
    name = domain.parse_live_forecaster(value)
    if name.startswith("pg_") or name.startswith("forecasts_") or len(name.encode()) > 63:
        raise InvalidInput(f"{name!r} cannot name a team member (at most 63 bytes, not starting pg_ or forecasts_)")
    return name


def add_member(ledger: Ledger, name: object, role: str, *, password: str | None = None) -> str:
    """Create member ``name`` with ``role`` (one of :data:`ROLES`) and a password; returns the
    password (the given one, or a new random one).  Refused if the role exists already."""
    from psycopg import sql

    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    who = member_name(name)
    if password is not None and (len(password) < 12 or "\n" in password):
        raise InvalidInput("a password needs at least 12 characters on one line")
    secret = password if password is not None else secrets.token_urlsafe(18)
    storage = _storage(ledger)

    def create(conn) -> None:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [who]).fetchone()
        if exists:
            raise InvalidInput(f"a role named {who!r} exists already on this server")
        verifier = conn.pgconn.encrypt_password(secret.encode(), who.encode(), b"scram-sha-256").decode()
        attributes = sql.SQL("LOGIN CREATEROLE" if role == "admin" else "LOGIN")
        conn.execute(sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(sql.Identifier(who), attributes,
                                                                    sql.Literal(verifier)))
        # a member's session may not sit in a transaction (holding the chain's lock) for long
        conn.execute(sql.SQL("ALTER ROLE {} SET idle_in_transaction_session_timeout = '60s'").format(
            sql.Identifier(who)))
        for group in GRANTS[role]:
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(who)))
        conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}{}").format(
            sql.Identifier(conn.info.dbname), sql.Identifier(who),
            sql.SQL(" WITH GRANT OPTION" if role == "admin" else "")))  # an admin lets others in

    storage._run(create)
    return secret


def members(ledger: Ledger) -> list[dict[str, object]]:
    """Every member of this ledger (a role in the groups that may connect to its database):
    ``name``, ``role`` (the widest held), ``can_login``."""
    storage = _storage(ledger)
    rows = storage._run(lambda conn: conn.execute(
        """SELECT r.rolname, r.rolcanlogin, array_agg(g.rolname ORDER BY g.rolname)
           FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid
           WHERE g.rolname LIKE 'forecasts\\_%' AND r.rolname NOT LIKE 'forecasts\\_%'
             AND has_database_privilege(r.oid, current_database(), 'CONNECT')
           GROUP BY r.rolname, r.rolcanlogin ORDER BY r.rolname""").fetchall())
    out = []
    for name, login, groups in rows:
        role = next((r for r in reversed(ROLES) if set(GRANTS[r]) <= set(groups)), "analyst")
        out.append({"name": name, "role": role, "can_login": bool(login)})
    return out
