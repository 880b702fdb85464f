"""`python -m shared.db migrate`: apply pending migrations to DATABASE_URL (or the embedded server)."""

from __future__ import annotations

import argparse
import sys

import psycopg

from shared.config import settings_or_exit
from shared.db import database_url
from shared.db.migrations import MigrationError, discover, migrate
from shared.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.db", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply pending migrations")
    commands.add_parser("status", help="list migrations and whether each is applied")
    args = parser.parse_args(argv)

    settings = settings_or_exit()
    configure_logging(settings.log_level, "text")
    try:
        with psycopg.connect(database_url(settings)) as conn:
            if args.command == "migrate":
                applied = migrate(conn)
                print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
            else:
                from shared.db.migrations import applied as applied_versions

                done = applied_versions(conn)
                for migration in discover():
                    mark = "applied" if migration.version in done else "pending"
                    print(f"{mark:8} {migration.path.name}")
    except MigrationError as error:
        print(f"migration error: {error}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as error:
        print(f"database unreachable: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
