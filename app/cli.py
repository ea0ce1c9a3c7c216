"""The ``touchbase`` command: serve the API, migrate, issue API keys, import touches and
customer profiles."""

import argparse
import asyncio
import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import ExitStack, asynccontextmanager
from typing import Any, TypeAlias

from pydantic import ValidationError
from sqlalchemy import NullPool, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from tqdm import tqdm  # type: ignore[import-untyped]

from app import embedded, importer, migrations
from app import logging as app_logging
from app.clock import SystemClock
from app.config import Settings, get_settings, to_async_url
from app.db import Database, make_engine
from app.tenants.schemas import ApiKeyCreate, ApiKeyCreated, Role
from app.tenants.service import create_key_for_tenant_name

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
GRACEFUL_SHUTDOWN_SECONDS = 20

IMPORT_HELP = """\
Loads touches (--kind touches, the default) or customer profiles (--kind customers) from a CSV
file (with a header line) or NDJSON (one JSON object a line, as the API's request bodies) into
an existing tenant, in batches of one transaction each. In a CSV file an empty cell is an
absent field; unknown, repeated or missing required columns refuse the whole file.

Touches: CSV columns are the touch's field names (customer_id, channel and occurred_at
required); the actor's are actor.rep_id, actor.team, actor.partner_id (or actor_rep_id, ...);
metadata is a JSON object; automated is true/false/1/0. A touch is stored once per (source,
external_id). A line without external_id gets source "import" (unless it names one) and
external_id "import-" plus a hash of its content, so importing a file again stores nothing
new; identical lines are one touch.

Customers: each line is a whole profile, as PUT /v1/customers/{id} takes it, and creates or
replaces that profile: a field it leaves out (an empty cell, a missing column) is cleared.
CSV columns: customer_id (required), name, segment, stage, market, industry, owner_rep (or
owner.rep_id, owner_rep_id), owner_team (or owner.team), timezone, country, email, and
preferences and attributes as JSON objects, e.g. "{""opted_out_channels"": [""sms""]}". A
line naming the customer_id of an earlier valid line of the file is rejected. Importing a
file again changes nothing: a profile that already holds the line's content is left as it is
(not even its updated_at moves; it counts as replaced), and stage_entered_at moves only when
the stage changes.

Each rejected line is reported on stderr as "line N: <field>: <message>" (N counts the file's
lines from 1; a CSV header is line 1), and a summary line ends standard output:
"imported: created=N duplicates=N rejected=N ..." for touches, "imported: created=N
replaced=N rejected=N ..." for customers.

Exit status: 0 when the import ran (also with some lines rejected), 1 when every line was
rejected or the database failed (batches committed before stay), 2 for bad usage: an unknown
tenant, kind or format, an unreadable file, a bad CSV header."""


class CliError(Exception):
    """A failure to report in one line, with the exit status it maps to."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except importer.InputError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except SQLAlchemyError as exc:
        return _fail(f"database error: {exc}", EXIT_FAILED)
    except OSError as exc:
        return _fail(f"error: {exc}", EXIT_FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message: str, code: int) -> int:
    _err(f"touchbase: {message}")
    return code


def _out(line: object) -> None:
    """A line of standard output."""
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()


def _err(line: object) -> None:
    sys.stderr.write(f"{line}\n")
    sys.stderr.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="touchbase",
        description="Touchbase: one place that knows how often every customer is touched.",
        epilog="The database is DATABASE_URL, else an embedded PostgreSQL under "
        "TOUCHBASE_DATA_DIR (default .touchbase/pgdata).",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    _add_serve(commands)
    _add_migrate(commands)
    _add_keys(commands)
    _add_import(commands)
    return parser


Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _add_serve(commands: Subparsers) -> None:
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=_positive, default=1, help="processes (default 1)")
    serve.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-* from FORWARDED_ALLOW_IPS (default: off)",
    )
    serve.set_defaults(command=run_serve)


def _add_migrate(commands: Subparsers) -> None:
    migrate = commands.add_parser("migrate", help="bring the database to the latest revision")
    migrate.set_defaults(command=run_migrate)


def _add_keys(commands: Subparsers) -> None:
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        title="commands", required=True, metavar="COMMAND"
    )
    create = keys.add_parser(
        "create",
        help="create an API key (and the tenant, if new)",
        description="Creates an API key, and the tenant if it is new. The key is printed alone "
        "on the last line of standard output; it is shown this once.",
    )
    create.add_argument("--tenant", required=True, type=_tenant_name, help="the tenant's name")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--partner", help="the partner id; required with --role partner only")
    create.add_argument("--name", help="a label for the key")
    create.set_defaults(command=run_keys_create)


def _add_import(commands: Subparsers) -> None:
    load = commands.add_parser(
        "import",
        help="load touches or customer profiles from a CSV or NDJSON file",
        description=IMPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    load.add_argument("file", help="a .csv, .ndjson or .jsonl file, or - for standard input")
    load.add_argument("--tenant", required=True, type=_tenant_name, help="an existing tenant")
    load.add_argument(
        "--kind",
        choices=list(importer.KINDS),
        default="touches",
        help="what the file holds: touches (default) or customers",
    )
    load.add_argument(
        "--format", choices=importer.FORMATS, help="csv or ndjson (default: from the extension)"
    )
    load.add_argument(
        "--batch-size",
        type=_batch_size,
        default=1000,
        help="lines per transaction, 1..20000 (default 1000)",
    )
    load.set_defaults(command=run_import)


def _positive(value: str) -> int:
    return _int_in(value, 1, 1024)


def _port(value: str) -> int:
    return _int_in(value, 0, 65535)


def _batch_size(value: str) -> int:
    return _int_in(value, 1, 20_000)


def _int_in(value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"must be {low}..{high}")
    return number


def _tenant_name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise argparse.ArgumentTypeError("a tenant name is 1..200 printable characters")
    return name


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise CliError(f"bad settings: {exc}") from exc


def _database_url(settings: Settings) -> str:
    """The configured database, else the embedded one (started if need be)."""
    if settings.database_url:
        try:
            to_async_url(settings.database_url)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        return settings.database_url
    try:
        return embedded.database_url(settings)
    except Exception as exc:
        raise CliError(f"cannot start the embedded PostgreSQL: {exc}", EXIT_FAILED) from exc


@asynccontextmanager
async def _database(settings: Settings, url: str) -> AsyncIterator[Database]:
    engine = make_engine(settings, url)
    try:
        yield Database(engine)
    finally:
        await engine.dispose()


def run_serve(args: argparse.Namespace) -> int:
    """Run uvicorn; every worker uses the one database resolved here."""
    import uvicorn

    settings = _settings()
    app_logging.configure(settings.log_level)
    os.environ["DATABASE_URL"] = _database_url(settings)
    get_settings.cache_clear()
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir()
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        proxy_headers=args.proxy_headers,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    return EXIT_OK


def _metrics_dir() -> str:
    """A fresh directory for the workers' Prometheus metrics, removed at exit."""
    path = tempfile.mkdtemp(prefix="touchbase-metrics-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def run_migrate(args: argparse.Namespace) -> int:
    """Upgrade to head; print the revision reached."""
    url = _database_url(_settings())
    before = asyncio.run(current_revision(url))
    migrations.upgrade(url)
    after = asyncio.run(current_revision(url))
    change = "unchanged" if before == after else f"upgraded from {before or 'an empty database'}"
    _out(f"database at revision {after} ({change})")
    return EXIT_OK


async def current_revision(url: str) -> str | None:
    """The database's Alembic revision; None before the first migration."""
    engine = create_async_engine(to_async_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            if await conn.scalar(text("SELECT to_regclass('alembic_version')")) is None:
                return None
            revision: str | None = await conn.scalar(
                text("SELECT version_num FROM alembic_version")
            )
            return revision
    finally:
        await engine.dispose()


def run_keys_create(args: argparse.Namespace) -> int:
    """Create the key; print it alone on the last line of standard output."""
    request = _key_request(args)
    settings = _settings()
    url = _database_url(settings)
    created = asyncio.run(_create_key(settings, url, args.tenant, request))
    partner = f", partner {created.partner_id}" if created.partner_id else ""
    _err(
        f"created key {created.id} (role {created.role.value}{partner}) "
        f"for tenant {args.tenant!r}; it is shown this once:"
    )
    _out(created.key)
    return EXIT_OK


def _key_request(args: argparse.Namespace) -> ApiKeyCreate:
    if args.role == Role.partner and not args.partner:
        raise CliError("--role partner needs --partner ID")
    if args.role != Role.partner and args.partner:
        raise CliError("--partner goes only with --role partner")
    try:
        return ApiKeyCreate(role=args.role, partner_id=args.partner, name=args.name)
    except ValidationError as exc:
        raise CliError(_validation_message(exc)) from exc


def _validation_message(exc: ValidationError) -> str:
    options = {"partner_id": "--partner", "name": "--name", "role": "--role"}
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        parts.append(f"{options.get(field, 'key')}: {error['msg']}")
    return "; ".join(parts)


async def _create_key(
    settings: Settings, url: str, tenant: str, request: ApiKeyCreate
) -> ApiKeyCreated:
    async with _database(settings, url) as db, db.sessions() as session:
        return await create_key_for_tenant_name(session, tenant, request, SystemClock().now())


def run_import(args: argparse.Namespace) -> int:
    """Import a file; exit 1 when every line was rejected."""
    fmt = importer.detect_format(args.file, args.format)
    kind = importer.kind_named(args.kind)
    settings = _settings()
    with ExitStack() as stack:
        try:
            stream = stack.enter_context(importer.open_input(args.file, fmt))
        except OSError as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
        lines = importer.read_lines(stream, fmt, kind)
        url = _database_url(settings)
        summary = asyncio.run(_import(settings, url, args, kind, lines))
    _out(summary)
    return EXIT_FAILED if summary.lines and summary.rejected == summary.lines else EXIT_OK


async def _import(
    settings: Settings,
    url: str,
    args: argparse.Namespace,
    kind: importer.Kind[Any],
    lines: Iterable[importer.Line],
) -> importer.Summary:
    async with _database(settings, url) as db:
        async with db.sessions() as session:
            tenant_id = await importer.find_tenant(session, args.tenant)
        if tenant_id is None:
            raise CliError(
                f"no tenant named {args.tenant!r}; `touchbase keys create --tenant` creates one"
            )
        loader = importer.Loader(db, tenant_id, SystemClock(), _report, kind)
        with tqdm(file=sys.stderr, unit=" lines", disable=None, mininterval=0.5) as bar:
            return await loader.load(lines, args.batch_size, bar.update)


def _report(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
