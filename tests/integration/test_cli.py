"""The ``registry`` command, run as a real process against a test database (both engines)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def registry(database_url, *args, stdin=""):
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_migrate_is_idempotent(database_url):
    result = registry(database_url, "migrate")
    assert result.returncode == 0, result.stderr
    assert "migrations applied: 0" in result.stdout


def test_user_lifecycle_with_password_from_stdin(database_url):
    created = registry(
        database_url,
        "user",
        "create",
        "--username",
        "zhao_planner",
        "--role",
        "county_planner",
        "--scope",
        "431224",
        stdin="Hh-Strong-Pass-42\n",
    )
    assert created.returncode == 0, created.stderr
    assert "zhao_planner" in created.stdout
    assert "Hh-Strong-Pass-42" not in created.stdout + created.stderr
    listed = registry(database_url, "user", "list")
    assert "zhao_planner" in listed.stdout and "431224000000" in listed.stdout
    disabled = registry(database_url, "user", "disable", "--username", "ZHAO_PLANNER")
    assert disabled.returncode == 0, disabled.stderr
    assert "disabled" in registry(database_url, "user", "list").stdout
    reset = registry(
        database_url,
        "user",
        "reset-password",
        "--username",
        "zhao_planner",
        stdin="Hh-Another-Pass-7\n",
    )
    assert reset.returncode == 0, reset.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            (
                "user",
                "create",
                "--username",
                "weak",
                "--role",
                "county_planner",
                "--scope",
                "431224",
            ),
            "short\n",
            "weak_password",
        ),
        (
            (
                "user",
                "create",
                "--username",
                "x1y2z3",
                "--role",
                "county_planner",
                "--scope",
                "431202102200",
            ),
            "Hh-Strong-Pass-42\n",
            "invalid_scope",
        ),
        (
            (
                "user",
                "create",
                "--username",
                "municipal",
                "--role",
                "municipal",
                "--scope",
                "431200",
            ),
            "Hh-Strong-Pass-42\n",
            "username_taken",
        ),
        (
            ("user", "create", "--username", "nopass", "--role", "municipal", "--scope", "431200"),
            "",
            "no password",
        ),
        (("user", "disable", "--username", "ghost"), "", "account_not_found"),
    ],
)
def test_bad_cli_input_exits_non_zero_with_one_line(database_url, args, stdin, message):
    result = registry(database_url, *args, stdin=stdin)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


def test_password_is_never_taken_from_argv(database_url):
    result = registry(
        database_url,
        "user",
        "create",
        "--username",
        "u1",
        "--role",
        "municipal",
        "--scope",
        "431200",
        "--password",
        "Hh-Strong-Pass-42",
    )
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


def test_bad_database_url_is_one_line(tmp_path):
    result = registry("mysql://localhost/x", "migrate")
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "REGISTRY_DATABASE_URL" in result.stderr
