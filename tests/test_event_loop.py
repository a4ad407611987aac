"""OpenDeep runs on uvloop: its commands (engine/app/event_loop.py) and, so that the tests exercise
the loop the product runs on, this suite (tests/conftest.py)."""

from __future__ import annotations

import asyncio

import uvloop

from engine.app import event_loop


async def _running_loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_the_commands_run_on_uvloop() -> None:
    assert event_loop.run(_running_loop_type()) is uvloop.Loop


async def test_the_suite_runs_on_the_loop_the_product_runs_on() -> None:
    assert await _running_loop_type() is uvloop.Loop
