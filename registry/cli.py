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
from pathlib import Path
from typing import Any

from registry.core.codes import level_of_code
from registry.core.settings import get_settings


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
    from registry.db.binding import connected

    async with connected(get_settings()):
        return await fn()


def cmd_migrate(args: argparse.Namespace) -> None:
    from registry.db.binding import migrate
    from registry.db.engines import make_engine

    applied = asyncio.run(migrate(make_engine(get_settings().database_url)))
    print(f"migrations applied: {len(applied)}" + (f" ({', '.join(applied)})" if applied else ""))


def cmd_seed(args: argparse.Namespace) -> None:
    from seed import demo, demo_cases, loader, scale

    root_level = level_of_code(get_settings().root_code)
    wanted = args.scale or root_level
    scale.check_root(wanted)

    async def run() -> None:
        if args.if_empty and not await loader.is_empty():
            print("database not empty: seed skipped / 数据库非空，跳过初始化")
            return
        if wanted != "city" or args.cases:
            bar = ProgressBar(f"seed {wanted}")
            # Millions of synthetic cases only when a scale is asked for by name; a plain
            # `seed --demo` at a province or nation root stays quick.
            cases = args.cases if args.scale else (args.cases or 0)
            report = await scale.load_scale(wanted, demo_data=args.demo, cases=cases, progress=bar)
            bar.close()
            for key, value in report.items():
                print(f"{key}: {value}")
        else:
            added = await loader.load_base()
            print(f"base seed: {added}")
            if args.demo:
                print(f"demo: {await demo.load_demo()}")
                print(f"demo cases: {await demo_cases.load_demo_cases()}")
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
    from registry.accounts import service as accounts
    from registry.accounts.schemas import AccountCreate
    from registry.core.access import SYSTEM

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


def cmd_backup(args: argparse.Namespace) -> None:
    from pathlib import Path

    from registry.transfer.service import backup

    size = backup(get_settings().database_url, Path(args.file))
    print(f"backup written: {args.file} ({size:,} bytes)")


def cmd_restore(args: argparse.Namespace) -> None:
    from pathlib import Path

    from registry.transfer.service import restore

    restore(get_settings().database_url, Path(args.file), force=args.force)
    print(f"restored from {args.file}")


async def _plan_actor(username: str | None, data: bytes) -> Any:
    """Who a plan import acts as: ``--user`` (an active county planner) or, without it, a
    command-line planner of the file's county named after the operating-system user."""
    from registry.accounts.tokens import username_key
    from registry.core.access import Actor
    from registry.plans import service as plans
    from registry.tables import Account

    if username:
        row = await Account.select().where(Account.username_key == username_key(username)).first()
        if row is None or not row["active"]:
            raise CliError(f"no active account {username!r} / 账号不存在或已停用")
        return Actor(
            username=row["username"], role=row["role"], scope=row["scope"], account_id=row["id"]
        )
    county = plans.parse_upload(data).county_code or ""
    return Actor(username=f"cli:{getpass.getuser()}", role="county_planner", scope=county)


def _one_line(exc: Any) -> str:
    """A refused import as one line: the reason and the first row-level errors."""
    errors = getattr(exc, "errors", None) or []
    parts = [f"{e.get('field')}: {e.get('message')}" for e in errors[:5]]
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    detail = f"{exc.code}: {exc.message}"
    return detail + (" — " + "; ".join(parts) + more if parts else "")


def _import_plan(args: argparse.Namespace) -> None:
    from pathlib import Path

    from registry.core.errors import RegistryError
    from registry.plans import service as plans

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path} / 文件不存在")
    data = path.read_bytes()

    async def run() -> None:
        actor = await _plan_actor(args.user, data)
        result = await plans.import_xlsx(actor, data, dry_run=args.dry_run)
        what = "would " + result.action if result.dry_run else result.action
        plan = f" plan {result.plan.id} version {result.plan.version}" if result.plan else ""
        print(
            f"{what}:{plan} {result.county_code} {result.campaign}: {result.items} items, "
            f"{result.explained} explained; "
            + (
                "ready to submit / 可报送"
                if result.check.ok
                else f"{len(result.check.errors)} errors, "
                f"{len(result.check.warnings)} divisions missing / 未列入"
            )
        )

    try:
        asyncio.run(_with_engine(run))
    except RegistryError as exc:
        raise CliError(_one_line(exc)) from None


def _export_plan(args: argparse.Namespace) -> None:
    from pathlib import Path

    from registry.core.access import Actor
    from registry.plans import service as plans
    from registry.tables import Plan

    path = Path(args.file)
    if path.suffix.lower() != ".xlsx":
        raise CliError("a plan is exported as .xlsx / 规划只能导出为 .xlsx")

    async def run() -> None:
        row = await Plan.select(Plan.county_code).where(Plan.id == args.plan).first()
        if row is None:
            raise CliError(f"plan {args.plan} not found / 规划不存在")
        actor = Actor(username="cli", role="municipal", scope=get_settings().root_code)
        content, _ = await plans.export_xlsx(actor, args.plan)
        path.write_bytes(content)
        print(f"wrote {path} ({len(content)} bytes)")

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


def _import_table(args: argparse.Namespace) -> None:
    from registry.core.access import SYSTEM
    from registry.formats.readers import read_path
    from registry.transfer import service as transfer

    data = read_path(args.file)
    bar = ProgressBar(f"import {args.what}", enabled=True if args.progress else None)

    async def run() -> Any:
        return await transfer.import_file(
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
        fmt = "xlsx" if args.report.endswith(".xlsx") else "csv"
        with open(args.report, "wb") as fh:
            fh.write(transfer.report_file(report, fmt))
    if report.errors:
        sys.exit(1)


def _export_table(args: argparse.Namespace) -> None:
    from pathlib import Path

    from registry.core.access import SYSTEM
    from registry.transfer import service as transfer

    suffix = Path(args.file).suffix.lower().lstrip(".")
    if suffix not in transfer.EXPORT_FORMATS:
        raise CliError(
            f"unsupported suffix .{suffix}: use .csv, .xlsx, .geojson or .json / 不支持的格式"
        )

    async def run() -> Any:
        return await transfer.export(SYSTEM, args.what, suffix, args.county)

    result = asyncio.run(_with_engine(run))
    Path(args.file).write_bytes(result.content)
    print(f"exported {result.rows} {args.what} to {args.file} ({len(result.content)} bytes)")


def _nbs_lists(path: Path) -> list[Any]:
    """The statistical lists of FILE: the file, or every ``*.csv``/``*.csv.gz`` of a folder."""
    from registry.divisions import nbs
    from registry.formats.readers import read_path

    if not path.exists():
        raise CliError(f"no such file: {path} / 文件不存在")
    files = sorted(path.glob("*.csv*")) if path.is_dir() else [path]
    return [nbs.read(read_path(f, limit=200 * 1024 * 1024)) for f in files]


def _import_nbs(args: argparse.Namespace) -> None:
    from datetime import date

    from registry.core.access import SYSTEM
    from registry.divisions import register, register_report
    from registry.formats.writers import write_csv, write_xlsx

    as_of = None
    if args.as_of:
        try:
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            raise CliError(
                f"--as-of must be YYYY-MM-DD / 日期格式应为 YYYY-MM-DD: {args.as_of}"
            ) from None
    lists = _nbs_lists(Path(args.file))
    bar = ProgressBar("import nbs", enabled=True if args.progress else None)

    async def run() -> Any:
        return await register.import_lists(SYSTEM, lists, as_of, args.dry_run, bar)

    report = asyncio.run(_with_engine(run))
    bar.close()
    print("\n".join(register_report.text_lines(report, args.dry_run)))
    if args.report:
        rows = register_report.report_rows(report)
        columns = register_report.REPORT_COLUMNS
        content = (
            write_xlsx(columns, rows, "区划对照与变更")
            if args.report.endswith(".xlsx")
            else write_csv(columns, rows)
        )
        Path(args.report).write_bytes(content)
    if report.errors:
        sys.exit(1)


def cmd_import(args: argparse.Namespace) -> None:
    if args.what == "plan":
        _import_plan(args)
    elif args.format == "nbs":
        if args.what != "divisions":
            raise CliError("--format nbs imports divisions / 统计用区划只能导入区划")
        _import_nbs(args)
    else:
        _import_table(args)


def cmd_export(args: argparse.Namespace) -> None:
    if args.what == "plan":
        if args.plan is None:
            raise CliError("export plan needs --plan ID / 导出规划须指定 --plan")
        _export_plan(args)
    else:
        _export_table(args)


def cmd_bench(args: argparse.Namespace) -> None:
    from tools.bench import run_bench

    run_bench(args)


def cmd_report(args: argparse.Namespace) -> None:
    from pathlib import Path

    from registry.core.access import SYSTEM
    from registry.coverage import reports

    out = Path(args.output)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in reports.FORMATS:
        raise CliError(f"output must end in .xlsx or .csv / 输出文件须为 .xlsx 或 .csv: {out}")
    if not out.parent.is_dir():
        raise CliError(f"no such directory / 目录不存在: {out.parent}")

    async def run() -> None:
        content, _ = await reports.coverage_report(
            SYSTEM, args.as_of, args.campaign, fmt, args.level
        )
        out.write_bytes(content)
        print(f"wrote {out} ({len(content)} bytes)")

    asyncio.run(_with_engine(run))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="registry",
        description="怀化便民服务中心与代办点登记系统 / convenience-service registry",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=cmd_migrate)

    seed = sub.add_parser(
        "seed",
        help="load the real register of the root (REGISTRY_ROOT) and, with --demo, demo data",
    )
    seed.add_argument(
        "--demo", action="store_true", help="add demo histories (sites, events, cases, accounts)"
    )
    seed.add_argument(
        "--scale",
        choices=["city", "province", "nation"],
        default=None,
        help="the root's level (default); province needs REGISTRY_ROOT=430000, nation 000000",
    )
    seed.add_argument("--if-empty", action="store_true", help="only when the database is empty")
    seed.add_argument(
        "--cases", type=int, default=None, help="synthetic cases to generate (--scale only)"
    )
    seed.set_defaults(fn=cmd_seed)

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

    backup = sub.add_parser("backup", help="write a backup file (SQLite backup API / pg_dump)")
    backup.add_argument("file")
    backup.set_defaults(fn=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup into an empty database")
    restore.add_argument("file")
    restore.add_argument("--force", action="store_true", help="overwrite a non-empty database")
    restore.set_defaults(fn=cmd_restore)

    imp = sub.add_parser(
        "import", help="import divisions or sites (CSV, XLSX, GeoJSON) or a plan workbook (.xlsx)"
    )
    imp.add_argument("what", choices=["divisions", "sites", "plan"])
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    imp.add_argument(
        "--format",
        choices=["csv", "xlsx", "geojson", "nbs"],
        help="override the suffix; nbs: the statistical register (a file or a folder of them)",
    )
    imp.add_argument("--as-of", help="nbs: the list's date, YYYY-MM-DD (changes take effect)")
    imp.add_argument("--report", help="also write the row-level report to FILE (.csv or .xlsx)")
    imp.add_argument("--progress", action="store_true", help="progress bar even when piped")
    imp.add_argument("--user", help="plan: act as this county planner (default: cli:<os user>)")
    imp.set_defaults(fn=cmd_import)

    exp = sub.add_parser("export", help="export to FILE; the suffix picks the format")
    exp.add_argument("what", choices=["divisions", "sites", "cases", "history", "plan"])
    exp.add_argument("file", help=".csv (UTF-8 with BOM) .xlsx .geojson .json; a plan: .xlsx")
    exp.add_argument("--county", help="one county only")
    exp.add_argument("--plan", type=int, help="plan: the plan (version) id")
    exp.set_defaults(fn=cmd_export)

    bench = sub.add_parser("bench", help="benchmarks against a real server process")
    bench.add_argument("--scale", choices=["city", "province", "nation"], default="city")
    bench.add_argument("--out", help="write the results as JSON to FILE")
    bench.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    bench.add_argument(
        "--database-url",
        help="postgresql://…/db server to run on (a fresh database is created and dropped)",
    )
    bench.add_argument("--cases", type=int, default=None, help="cases to generate")
    bench.add_argument(
        "--screenshot", help="save the dashboard's first view (PNG, 1400 px wide) to FILE"
    )
    bench.set_defaults(fn=cmd_bench)

    report = sub.add_parser("report", help="reports (coverage)")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    coverage = report_sub.add_parser(
        "coverage", help="coverage report: counties + total (sheet 2: townships); .xlsx or .csv"
    )
    coverage.add_argument("--as-of", help="YYYY-MM-DD (default today, Asia/Shanghai)")
    coverage.add_argument("--campaign", help="campaign code (default agency-points-2013)")
    coverage.add_argument(
        "--level",
        choices=["county", "township"],
        help="CSV only: county rows (default) or townships",
    )
    coverage.add_argument("-o", "--output", required=True, help="FILE.xlsx or FILE.csv")
    coverage.set_defaults(fn=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> None:
    from registry.core.errors import RegistryError
    from registry.db.engines import DatabaseUrlError

    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except CliError as exc:
        sys.exit(f"registry: {exc}")
    except RegistryError as exc:
        sys.exit(f"registry: {exc.code}: {exc.message}")
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
