"""The ``registry`` command.

Every command exits non-zero with one clear line on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
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
    from seed import demo, demo_cases, loader

    async def run() -> None:
        if args.if_empty and not await loader.is_empty():
            print("database not empty: seed skipped / 数据库非空，跳过初始化")
            return
        added = await loader.load_base()
        print(f"base seed: {added}")
        if args.demo:
            print(f"demo: {await demo.load_demo()}")
            print(f"demo cases: {await demo_cases.load_demo_cases()}")
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
    return parser


def main(argv: list[str] | None = None) -> None:
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
    except KeyboardInterrupt:
        sys.exit("registry: interrupted")


if __name__ == "__main__":
    main()
