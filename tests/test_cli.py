"""The `opendeep` command, run as a person would: a real process against the test database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import aiohttp
import pytest

from tests.conftest import REPO


def run_cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.app.cli", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=REPO, timeout=60,
    )


@pytest.fixture
def cli_env(database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENDEEP_", "OPENAI_"))}
    env.update(DATABASE_URL=database_url, OPENDEEP_DATA_DIR=str(tmp_path), OPENDEEP_LOG_LEVEL="WARNING")
    return env


def test_help_reads_well(cli_env):
    result = run_cli("--help", env=cli_env)
    assert result.returncode == 0
    for command in ("serve", "migrate", "user"):
        assert command in result.stdout


def test_bad_configuration_is_one_clear_line(cli_env):
    result = run_cli("migrate", env={**cli_env, "DATABASE_URL": "mysql://nope"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "opendeep: configuration error: DATABASE_URL: must start with postgresql:// "
        "(for example postgresql://user@host/db) (got 'mysql://nope')"
    ]


def test_migrate_reports_up_to_date(cli_env):
    result = run_cli("migrate", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_user_create_and_list(cli_env):
    email = f"cli-{os.getpid()}@example.test"
    created = run_cli("user", "create", email, "--name", "Cli Person", "--time-zone", "Europe/Berlin", env=cli_env)
    assert created.returncode == 0, created.stderr
    assert f"Created user {email}" in created.stdout
    assert "One-time password: " in created.stdout
    listed = run_cli("user", "list", env=cli_env)
    assert email in listed.stdout and "Europe/Berlin" in listed.stdout
    again = run_cli("user", "create", email, env=cli_env)
    assert again.returncode == 1
    assert again.stderr.strip() == f"opendeep: email: a user with the email {email} already exists"


def test_user_create_with_short_password_is_refused(cli_env):
    result = run_cli("user", "create", "short@example.test", "--password-stdin", env=cli_env, stdin="abc\n")
    assert result.returncode == 1
    assert "password: must be at least 12 characters long" in result.stderr
    assert "short@example.test" not in run_cli("user", "list", env=cli_env).stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_serve_answers_health_with_the_database_ok(cli_env):
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine.app.cli", "serve",
        env={**cli_env, "OPENDEEP_PORT": str(port)}, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output = b""
        while b"serving on" not in output:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, f"serve exited early:\n{output.decode()}"
            output += line
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/health") as response:
                report = await response.json()
        assert report["database"] == {"ok": True}  # anyone sees ok / not ok; modes and reasons are for admins
        for part in ("pbx", "voice_model"):
            assert set(report[part]) == {"ok"}
        assert response.status == (200 if report["ok"] else 503)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
