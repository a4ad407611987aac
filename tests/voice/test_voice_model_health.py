"""/health asks the OpenAI API whether the configured key works, at start and every few minutes."""

from __future__ import annotations

import socket

from db.database import Database
from engine.app.node import Node
from engine.settings import Settings
from engine.voice.factory import start_voice_model
from tests.clock import ManualClock
from tests.lifecycle.fake_openai import FakeOpenAI


def settings_for(base_url: str, key: str) -> Settings:
    return Settings(_env_file=None, openai_api_key=key, openai_base_url=base_url, voice_model_check_s=300)


async def voice_health(pool, database_url: str, settings: Settings, clock: ManualClock) -> tuple[dict, object]:
    service = await start_voice_model(settings, clock=clock)
    await service.probe.wait_checks(1)
    node = Node(settings=settings, database=Database(database_url, pool, embedded=False), voice=service)
    return (await node.health())["voice_model"], service


async def test_a_revoked_key_makes_health_fail_with_the_reason(pool, database_url) -> None:
    async with FakeOpenAI(api_keys={"sk-good"}) as api:
        report, service = await voice_health(pool, database_url, settings_for(api.base_url, "sk-revoked"),
                                             ManualClock())
        await service.close()
    assert report["ok"] is False
    assert report["reason"] == "the API key was refused (401): check OPENAI_API_KEY"
    assert [r["path"] for r in api.requests] == ["/v1/models/gpt-realtime-1.5"]


async def test_a_working_key_is_ok_and_checked_again_later(pool, database_url) -> None:
    clock = ManualClock()
    async with FakeOpenAI(api_keys={"sk-good"}) as api:
        report, service = await voice_health(pool, database_url, settings_for(api.base_url, "sk-good"), clock)
        assert report == {"ok": True, "mode": "openai", "details": {"provider": "realtime", "model": "gpt-realtime-1.5"}}
        api.api_keys = set()  # the key is revoked while the node runs
        await clock.wait_sleepers(1)
        clock.advance(300)
        later = await service.probe.wait_checks(2)
        await service.close()
    assert not later.ok and "refused (401)" in later.reason


async def test_an_unreachable_api_is_reported(pool, database_url) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    report, service = await voice_health(pool, database_url, settings_for(f"http://127.0.0.1:{port}/v1", "sk-x"),
                                         ManualClock())
    await service.close()
    assert report["ok"] is False
    assert report["reason"].startswith(f"the OpenAI API at http://127.0.0.1:{port}/v1/ is unreachable")
