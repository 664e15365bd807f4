"""What the service's own role may do in its database: read and write the data, never change the
schema. `migrate` runs this as the schema's owner after dbmate (LOYALTY_DB_APP_ROLE)."""

from __future__ import annotations

import asyncpg

from loyalty_shared.db import Connection


class AppRoleError(RuntimeError):
    pass


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def grant_app_role(dsn: str, role: str) -> None:
    """Grant `role` SELECT, INSERT, UPDATE and DELETE on every table of the public schema and the
    use of its sequences, now and for the tables the owner creates later (default privileges);
    `schema_migrations` stays read-only to it. Refuses a role that is the owner or inherits its
    rights: that role could ALTER and DROP the tables (and the audit log's trigger)."""
    conn: Connection = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await _grant(conn, role)
    finally:
        await conn.close()


async def _grant(conn: Connection, role: str) -> None:
    row = await conn.fetchrow(
        "SELECT current_user AS owner, current_database() AS database,"
        " r.rolsuper AS superuser, pg_has_role($1, current_user, 'MEMBER') AS inherits"
        " FROM pg_roles r WHERE r.rolname = $1",
        role,
    )
    if row is None:
        raise AppRoleError(
            f"the role {role!r} (LOYALTY_DB_APP_ROLE) does not exist: CloudNativePG creates it "
            "from the Cluster's managed.roles"
        )
    if row["superuser"] or row["inherits"]:
        raise AppRoleError(
            f"the role {role!r} (LOYALTY_DB_APP_ROLE) is a superuser or a member of "
            f"{row['owner']!r}, who migrates: it could alter and drop the tables"
        )
    app, owner = _ident(role), _ident(row["owner"])
    for statement in (
        f"GRANT CONNECT, TEMPORARY ON DATABASE {_ident(row['database'])} TO {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
        f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
        f" GRANT USAGE, SELECT ON SEQUENCES TO {app}",
        # The versions the pods wait for: only the migration Job writes them.
        f"REVOKE INSERT, UPDATE, DELETE ON TABLE public.schema_migrations FROM {app}",
    ):
        await conn.execute(statement)
