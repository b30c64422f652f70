"""The ``fusion`` command."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

# Sub-commands that belong to one part of the system: ``fusion <group> <verb> ...`` is handed
# to that part's own ``main(argv)`` with everything after the group name.
DELEGATED: dict[str, tuple[str, str]] = {
    "sim": ("sim.cli", "Development stand-ins: the Moodle simulator."),
    "apogee": ("sim.apogee.cli", "Generate a synthetic Apogée database."),
    "backup": ("services.migration_orchestrator.preflight.cli", "Analyse a Moodle backup."),
    "sync": ("services.enrolment_sync.cli", "Run an enrolment synchronisation."),
    "bus": ("fusion.bus.admin", "Bus administration: list or replay dead letters."),
    "identity": ("services.identity.cli", "Load identities, apply homogenisation plans."),
}


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from fusion.observability import configure_logging
    from launcher.allinone import AllInOne, build, prepare_demo_data
    from sim.moodle.demo import demo_banner

    configure_logging(level="INFO", json_logs=False)
    config = AllInOne(host=args.host, port=args.port, data_dir=Path(args.data_dir))
    asyncio.run(prepare_demo_data(config))
    print(
        f"Fusion all-in-one on {config.base_url}  (demo tokens: demo-admin, "
        "demo-plugin, demo-service)"
    )
    print(demo_banner(f"{config.base_url}/sim"))
    uvicorn.run(build(config), host=args.host, port=args.port, log_level="info")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fusion.observability import configure_logging
    from launcher.registry import SERVICES

    entry = SERVICES[args.service]
    settings = entry.settings_class()()
    configure_logging(level=settings.log_level, json_logs=settings.log_json)
    uvicorn.run(
        entry.create_app(settings),
        host=args.host,
        port=args.port,
        workers=1,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from fusion.migrations import upgrade
    from launcher.registry import SERVICES

    entry = SERVICES[args.service]
    location = entry.migrations_dir()
    if location is None:
        print(f"{entry.name} owns no tables: nothing to migrate")
        return 0
    url = args.database_url or entry.settings_class()().database_url  # type: ignore[attr-defined]
    try:
        upgrade(location, url)
    except (OSError, SQLAlchemyError) as error:  # unreachable server, refused login ...
        print(f"fusion migrate {entry.name}: cannot reach the database: {error}", file=sys.stderr)
        return 2
    print(f"{entry.name}: migrated to head")
    return 0


def _token(args: argparse.Namespace) -> int:
    import json

    from fusion.auth import hash_token, new_token

    token = new_token()
    print(f"token (give it to the client, it is not stored): {token}")
    entry = {"client": args.client, "role": args.role, "sha256": hash_token(token)}
    print(f"add to FUSION_TOKENS: {json.dumps(entry)}")
    return 0


def _parser() -> argparse.ArgumentParser:
    from launcher.registry import SERVICES

    parser = argparse.ArgumentParser(prog="fusion", description="Fusion: Moodle merge and sync")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="all services in one process (development)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--data-dir", default="var")
    run.set_defaults(handler=_run)

    serve = commands.add_parser("serve", help="one service, configured from the environment")
    serve.add_argument("service", choices=sorted(SERVICES))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply a service's database migrations")
    migrate.add_argument("service", choices=sorted(SERVICES))
    migrate.add_argument("--database-url", default=None)
    migrate.set_defaults(handler=_migrate)

    token = commands.add_parser("token", help="create a client token (prints its hash entry)")
    token.add_argument("verb", choices=["create"])
    token.add_argument("--client", required=True)
    token.add_argument("--role", required=True, choices=["admin", "service", "plugin"])
    token.set_defaults(handler=_token)

    for name, (_, help_text) in DELEGATED.items():
        commands.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError

    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except ValidationError as error:  # settings from the environment: say which, no traceback
        print(f"fusion: invalid settings\n{error}", file=sys.stderr)
        return 2


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] in DELEGATED:
        module = importlib.import_module(DELEGATED[argv[0]][0])
        delegate: Callable[[list[str]], int] = module.main
        return delegate(argv[1:])
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
