"""The embedded PostgreSQL used when no DATABASE_URL is configured.

A real PostgreSQL server (from the `pgserver` package) runs from a data
directory under the user's data dir, so a second start finds the same data.
It listens on a Unix socket only and stops when the last process using it exits.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from db.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
# pgserver logs every pg_ctl command line at INFO; only its problems are worth showing.
logging.getLogger("pgserver").setLevel(logging.WARNING)

DATABASE_NAME = "opendeep"


@dataclass(frozen=True, slots=True)
class EmbeddedPostgres:
    data_dir: Path
    url: str


def start_embedded_postgres(data_dir: Path, database: str = DATABASE_NAME) -> EmbeddedPostgres:
    """Start (or attach to) the server in `data_dir/pgdata`; blocking, call it from a thread."""
    pgdata = data_dir / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh = not (pgdata / "PG_VERSION").exists()
    if fresh:
        log.info("initialising the embedded PostgreSQL in %s (first start)", pgdata)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs complains about XDG_RUNTIME_DIR
            import pgserver  # imported lazily: only this path needs it

            server = pgserver.get_server(pgdata, cleanup_mode="stop")
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
    except Exception as exc:  # pgserver raises plain exceptions from its subprocesses
        raise DatabaseUnavailable(f"the embedded PostgreSQL in {pgdata} did not start: {exc}") from exc
    return EmbeddedPostgres(data_dir=pgdata, url=server.get_uri(database))
