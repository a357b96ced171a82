"""The ``registry`` command.

Every command exits non-zero with one clear line on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from registry.settings import get_settings


class CliError(Exception):
    """A failure reported as one line on stderr with exit status 2."""


def _read_password(confirm: bool = True) -> str:
    """Password from stdin when piped, else an interactive prompt (never from argv)."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CliError("no password on stdin / 标准输入中没有密码")
        return line.rstrip("\r\n")
    first = getpass.getpass("密码 / password: ")
    if confirm and getpass.getpass("再次输入 / repeat: ") != first:
        raise CliError("passwords differ / 两次输入的密码不一致")
    return first


async def _with_engine(fn: Callable[[], Awaitable[Any]]) -> Any:
    from registry.db import bind, close_engine, make_engine, open_engine

    engine = make_engine(get_settings().database_url)
    bind(engine)
    await open_engine(engine, pool_size=4)
    try:
        return await fn()
    finally:
        await close_engine(engine)


def cmd_migrate(args: argparse.Namespace) -> None:
    from registry.db import make_engine, migrate

    applied = asyncio.run(migrate(make_engine(get_settings().database_url)))
    print(f"migrations applied: {len(applied)}" + (f" ({', '.join(applied)})" if applied else ""))


def cmd_seed(args: argparse.Namespace) -> None:
    from seed import demo, loader, scale

    async def run() -> None:
        if args.if_empty and not await loader.is_empty():
            print("database not empty: seed skipped / 数据库非空，跳过初始化")
            return
        if args.scale != "city" or args.cases:
            bar = ProgressBar(f"seed {args.scale}")
            report = await scale.load_scale(
                args.scale, demo_data=args.demo, cases=args.cases, progress=bar
            )
            bar.close()
            for key, value in report.items():
                print(f"{key}: {value}")
        else:
            added = await loader.load_base()
            print(f"base seed: {added}")
            if args.demo:
                print(f"demo: {await demo.load_demo()}")
        if args.demo:
            created = await demo.demo_accounts()
            if created:
                print("demo accounts (演示账号, shown once / 仅显示一次):")
                for username, password, role, scope in created:
                    print(f"  {role:15} {username:16} {password}   scope {scope}")

    asyncio.run(_with_engine(run))


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "registry.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level="info",
        access_log=False,
    )


def cmd_user(args: argparse.Namespace) -> None:
    from registry.domain.access import SYSTEM
    from registry.schemas.accounts import AccountCreate
    from registry.services import accounts

    async def run() -> None:
        if args.user_command == "create":
            password = _read_password()
            account = await accounts.create_account(
                SYSTEM,
                AccountCreate(
                    username=args.username,
                    password=password,
                    role=args.role,
                    scope=args.scope,
                    display_name=args.display_name or "",
                    phone=args.phone,
                ),
            )
            print(f"created {account.username} ({account.role}, scope {account.scope})")
        elif args.user_command == "list":
            result = await accounts.list_accounts(SYSTEM, None, None, None, 1000, 0)
            for a in result.items:
                state = "active" if a.active else "disabled"
                print(f"{a.id:5} {a.username:20} {a.role:15} {a.scope:14} {state}")
        elif args.user_command == "disable":
            await accounts.set_active_by_username(SYSTEM, args.username, False)
            print(f"disabled {args.username}; its tokens no longer work")
        elif args.user_command == "enable":
            await accounts.set_active_by_username(SYSTEM, args.username, True)
            print(f"enabled {args.username}")
        elif args.user_command == "reset-password":
            await accounts.set_password_by_username(SYSTEM, args.username, _read_password())
            print(f"password reset for {args.username}; its old tokens no longer work")

    asyncio.run(_with_engine(run))


class ProgressBar:
    """A one-line progress bar on stderr (only when stderr is a terminal, or when forced)."""

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.last = -1.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        fraction = min(1.0, done / total)
        if fraction - self.last < 0.02 and fraction < 1.0:
            return
        self.last = fraction
        filled = int(fraction * 30)
        bar = "#" * filled + "-" * (30 - filled)
        sys.stderr.write(f"\r{self.label} {stage:6} [{bar}] {fraction * 100:5.1f}% {done}/{total}")
        if fraction >= 1.0 and stage == "write":
            sys.stderr.write("\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.last >= 0:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _print_report(report: Any) -> None:
    issues = report.issues
    shown = issues[:200]
    for issue in shown:
        where = f"row {issue.row}" if issue.row is not None else "file"
        column = f" [{issue.column}]" if issue.column else ""
        print(f"  {issue.level:7} {where}{column} {issue.code}: {issue.message}")
    if len(issues) > len(shown):
        print(f"  … {len(issues) - len(shown)} more (use --report FILE for all)")
    state = (
        "committed"
        if report.committed
        else ("dry run, nothing written" if report.dry_run else "nothing written")
    )
    print(
        f"{report.what}: {report.rows} rows ({report.format}"
        + (f", {report.encoding}" if report.encoding else "")
        + f"), {report.errors} errors, {report.warnings} warnings; created {report.created}, "
        f"updated {report.updated}, unchanged {report.unchanged}, status events "
        f"{report.status_events}, boundaries {report.boundaries} — {state} "
        f"in {report.elapsed_ms / 1000:.2f} s"
    )


def cmd_import(args: argparse.Namespace) -> None:
    from registry.domain.access import SYSTEM
    from registry.services import imports, tabular

    try:
        data = tabular.read_path(args.file)
    except tabular.FileProblem as exc:
        raise CliError(f"{exc.code}: {exc.message}") from None
    bar = ProgressBar(f"import {args.what}", enabled=True if args.progress else None)

    async def run() -> Any:
        return await imports.import_file(
            SYSTEM,
            args.what,
            data,
            name=args.file,
            fmt=args.format,
            dry_run=args.dry_run,
            progress=bar,
        )

    report = asyncio.run(_with_engine(run))
    bar.close()
    _print_report(report)
    if args.report:
        from registry.services.tabular import write_csv, write_xlsx

        rows = [[i.row, i.column, i.level, i.code, i.message] for i in report.issues]
        columns = ("row", "column", "level", "code", "message")
        content = (
            write_xlsx(columns, rows, "report")
            if args.report.endswith(".xlsx")
            else write_csv(columns, rows)
        )
        with open(args.report, "wb") as fh:
            fh.write(content)
    if report.errors:
        sys.exit(1)


def cmd_export(args: argparse.Namespace) -> None:
    from pathlib import Path

    from registry.domain.access import SYSTEM
    from registry.services import exports

    suffix = Path(args.file).suffix.lower().lstrip(".")
    if suffix not in exports.FORMATS:
        raise CliError(
            f"unsupported suffix .{suffix}: use .csv, .xlsx, .geojson or .json / 不支持的格式"
        )

    async def run() -> Any:
        return await exports.export(SYSTEM, args.what, suffix, args.county)

    result = asyncio.run(_with_engine(run))
    Path(args.file).write_bytes(result.content)
    print(f"exported {result.rows} {args.what} to {args.file} ({len(result.content)} bytes)")


def cmd_bench(args: argparse.Namespace) -> None:
    from registry.bench import run_bench

    run_bench(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="registry",
        description="怀化便民服务中心与代办点登记系统 / convenience-service registry",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=cmd_migrate)

    seed = sub.add_parser("seed", help="load the 怀化 seed (and demo data)")
    seed.add_argument("--demo", action="store_true", help="add demo villages, sites, accounts")
    seed.add_argument("--scale", choices=["city", "province", "nation"], default="city")
    seed.add_argument("--if-empty", action="store_true", help="only when the database is empty")
    seed.add_argument(
        "--cases", type=int, default=None, help="synthetic cases to generate (--scale only)"
    )
    seed.set_defaults(fn=cmd_seed)

    imp = sub.add_parser("import", help="import divisions or sites from CSV, XLSX or GeoJSON")
    imp.add_argument("what", choices=["divisions", "sites"])
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    imp.add_argument("--format", choices=["csv", "xlsx", "geojson"], help="override the suffix")
    imp.add_argument("--report", help="also write the row-level report to FILE (.csv or .xlsx)")
    imp.add_argument("--progress", action="store_true", help="progress bar even when piped")
    imp.set_defaults(fn=cmd_import)

    exp = sub.add_parser("export", help="export to FILE; the suffix picks the format")
    exp.add_argument("what", choices=["divisions", "sites", "cases", "history"])
    exp.add_argument("file", help=".csv (UTF-8 with BOM) .xlsx .geojson .json")
    exp.add_argument("--county", help="one county only")
    exp.set_defaults(fn=cmd_export)

    bench = sub.add_parser("bench", help="benchmarks against a real server process")
    bench.add_argument("--scale", choices=["city", "province"], default="city")
    bench.add_argument("--out", help="write the results as JSON to FILE")
    bench.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    bench.add_argument(
        "--database-url",
        help="postgresql://…/db server to run on (a fresh database is created and dropped)",
    )
    bench.add_argument("--cases", type=int, default=None, help="cases to generate")
    bench.set_defaults(fn=cmd_bench)

    serve = sub.add_parser("serve", help="serve the API and dashboard")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(fn=cmd_serve)

    user = sub.add_parser("user", help="manage accounts (password from stdin or a prompt)")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create")
    create.add_argument("--username", required=True)
    create.add_argument(
        "--role", required=True, choices=["municipal", "county_planner", "village_agent"]
    )
    create.add_argument(
        "--scope", required=True, help="city code, county code, or agency-point site id"
    )
    create.add_argument("--display-name")
    create.add_argument("--phone")
    user_sub.add_parser("list")
    for name in ("disable", "enable", "reset-password"):
        user_sub.add_parser(name).add_argument("--username", required=True)
    user.set_defaults(fn=cmd_user)
    return parser


def main(argv: list[str] | None = None) -> None:
    from registry.db import DatabaseUrlError
    from registry.domain.access import Denied
    from registry.domain.errors import RuleViolation
    from registry.errors import RegistryError

    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except CliError as exc:
        sys.exit(f"registry: {exc}")
    except RuleViolation as exc:
        sys.exit(f"registry: {exc.code}: {exc.zh} / {exc.en}")
    except RegistryError as exc:
        sys.exit(f"registry: {exc.code}: {exc.detail}")
    except Denied as exc:
        sys.exit(f"registry: {exc.code}: {exc.zh} / {exc.en}")
    except DatabaseUrlError as exc:
        sys.exit(f"registry: {exc}")
    except (OSError, sqlite3.Error) as exc:
        sys.exit(f"registry: {type(exc).__name__}: {exc}")
    except Exception as exc:
        if type(exc).__module__.startswith("asyncpg"):
            sys.exit(f"registry: database error: {type(exc).__name__}: {exc}")
        raise
    except KeyboardInterrupt:
        sys.exit("registry: interrupted")


if __name__ == "__main__":
    main()
