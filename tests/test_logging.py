"""One log format for our records and the libraries' (issue 13), repeated warnings rate-limited."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys

import aiohttp
import pytest

from engine.app.logs import configure_logging
from tests.clock import ManualClock
from tests.conftest import REPO
from tests.test_cli import _free_port, cli_env  # noqa: F401 (cli_env is a fixture)

AUDIOSOCKET_REJECT = "AudioSocket connection without a call waiting for it; closed"


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    libraries = {name: (lg.handlers[:], lg.propagate, lg.level) for name in ("uvicorn", "uvicorn.error", "uvicorn.access",
                                                                            "litestar", "apscheduler")
                 for lg in [logging.getLogger(name)]}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, (handlers, propagate, level) in libraries.items():
        lg = logging.getLogger(name)
        lg.handlers[:], lg.propagate = handlers, propagate
        lg.setLevel(level)
    logging.captureWarnings(False)


def _uvicorn_with_its_own_handler() -> None:
    logging.getLogger("uvicorn").handlers.append(logging.StreamHandler(io.StringIO()))  # as uvicorn's own config does
    logging.getLogger("uvicorn").propagate = False


def test_json_lines_carry_our_records_and_uvicorns_and_litestars(restore_logging):
    _uvicorn_with_its_own_handler()
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    logging.getLogger("engine.lifecycle.sweeps").warning("sweep %s skipped", "strategy_notes")
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /health HTTP/1.1" 200')
    logging.getLogger("litestar").error("boom")
    logging.getLogger("apscheduler.executors.default").info('Running job "dispatch"')
    try:
        raise ValueError("bad row")
    except ValueError:
        logging.getLogger("web.errors").exception("unhandled error on GET /")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["logger"], r["level"], r["message"]) for r in lines] == [
        ("engine.lifecycle.sweeps", "WARNING", "sweep strategy_notes skipped"),
        ("uvicorn.error", "INFO", "Application startup complete."),
        ("uvicorn.access", "INFO", '127.0.0.1 - "GET /health HTTP/1.1" 200'),
        ("litestar", "ERROR", "boom"),
        ("web.errors", "ERROR", "unhandled error on GET /"),
    ]  # APScheduler's INFO chatter is not there
    assert "ValueError: bad row" in lines[-1]["exception"]
    assert lines[0]["time"].endswith("+00:00")


def test_human_lines_are_the_default_for_everyone(restore_logging):
    _uvicorn_with_its_own_handler()
    out = io.StringIO()
    configure_logging("INFO", stream=out)
    logging.getLogger("engine.app").info("node started")
    logging.getLogger("uvicorn.error").info("Uvicorn running")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(" INFO engine.app: node started")
    assert lines[1].endswith(" INFO uvicorn.error: Uvicorn running")


def test_a_repeated_warning_passes_once_per_window_then_says_how_many_were_suppressed(restore_logging):
    out, clock = io.StringIO(), ManualClock()
    configure_logging("INFO", stream=out, repeat_window_s=60, clock=clock)
    audiosocket = logging.getLogger("ari_apps.audiosocket")
    for _ in range(50):  # a scanner knocking on the AudioSocket port
        audiosocket.warning(AUDIOSOCKET_REJECT)
        clock.advance(1)
    logging.getLogger("engine.other").warning("something else")
    clock.advance(11)
    audiosocket.warning(AUDIOSOCKET_REJECT)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert lines[0].endswith(AUDIOSOCKET_REJECT)
    assert lines[1].endswith("something else")
    assert lines[2].endswith(f"{AUDIOSOCKET_REJECT} (49 more like this suppressed in the last 60s)")


async def test_serve_writes_json_lines_only_with_log_format_json(cli_env):  # noqa: F811
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine.app.cli", "serve",
        env={**cli_env, "OPENDEEP_PORT": str(port), "OPENDEEP_LOG_FORMAT": "json", "OPENDEEP_LOG_LEVEL": "INFO"},
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    printed = ("OpenDeep is serving on", "First start:")  # what the command prints for a person, not logs
    records: list[dict] = []
    try:
        output = b""
        while b"serving on" not in output:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, f"serve exited early:\n{output.decode()}"
            output += line
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/health") as response:
                await response.read()
        while not any(r.get("logger") == "uvicorn.access" for r in records):
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert line
            records.append(json.loads(line))
    finally:
        proc.terminate()
        rest, _ = await asyncio.wait_for(proc.communicate(), 30)
    lines = [line for line in (output + rest).decode().splitlines() if line and not line.startswith(printed)]
    records += [json.loads(line) for line in lines]  # every line a JSON object: ValueError otherwise
    loggers = {r["logger"] for r in records}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers, loggers
    assert not [r for r in records if r["logger"].startswith("apscheduler") and r["level"] == "INFO"]
