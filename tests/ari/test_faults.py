"""Bad input and faults: each ends the affected call with an outcome and leaves nothing behind."""

import asyncio
import base64
import logging
import socket
import uuid

import pytest

from ari_apps.adapter import AriTelephony
from ari_apps.config import AriConfig
from ari_apps.events_socket import SocketState, SocketTimings
from ari_apps.simulator import PbxSimulator, SimulatorConfig
from engine.ports.telephony import CallOutcome, DialRequest, MarkPlayed, MediaClosed, TelephonyUnavailable

from .conftest import FAST
from .fakes import RecordingSink, collect_until
from .telephony import ari_telephony

NOTHING = {"channels": [], "bridges": []}


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def adapter(sim, sink):
    telephony = ari_telephony(sim, sink, mode="simulated")
    await telephony.start()
    yield telephony
    await telephony.close()


async def test_malformed_and_unexpected_events_are_skipped_and_the_call_goes_on(sim, adapter, caplog):
    call = await adapter.originate(DialRequest(new_id(), "Local/s@callee-echo/n"))
    assert await call.answered()
    for text in ("{not json", '{"type": "Brand New"}', '{"type": "StasisEnd", "channel": 5}',
                 '{"type": "ChannelDestroyed", "cause": 16, "channel": {"id": "someone-else"}}'):  # fmt: skip
        sim.inject_event_text("opendeep", text)
    await call.media.send_audio(b"\x10" * 1600)
    await call.media.mark("still-alive")
    await collect_until(call.media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen))
    await call.hangup()
    assert (await call.finished()).outcome is CallOutcome.ANSWERED
    assert "unknown type 'Brand New'" in caplog.text and "not a JSON object" in caplog.text
    assert sim.leftovers() == NOTHING


async def test_rest_error_during_media_setup_fails_the_call_cleanly_and_others_carry_on(sim, adapter, sink, caplog):
    healthy = await adapter.originate(DialRequest(new_id(), "Local/s@callee-echo/n"))
    assert await healthy.answered()
    sim.fail_next("POST", "/channels/externalMedia", 500, "Internal Server Error")
    broken_id = new_id()
    broken = await adapter.originate(DialRequest(broken_id, "Local/s@callee-echo/n"))
    assert await broken.answered() is False
    result = await broken.finished()
    assert result.outcome is CallOutcome.FAILED and "500 Internal Server Error" in result.detail
    assert f"call {broken_id}: media set-up failed" in caplog.text
    await healthy.media.mark("ok")
    await collect_until(healthy.media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen))
    await healthy.hangup()
    assert sim.leftovers() == NOTHING


async def test_originate_refused_gives_a_failed_outcome(sim, adapter):
    sim.fail_next("POST", "/channels", 400, "Application or extension must be specified")
    call = await adapter.originate(DialRequest(new_id(), "Local/s@callee-echo/n"))
    result = await call.finished()
    assert result.outcome is CallOutcome.FAILED and "400" in result.detail
    assert await adapter.live_call_ids() == set()


async def test_events_socket_drop_mid_call_is_survived(sim, adapter):
    call = await adapter.originate(DialRequest(new_id(), "Local/s@callee-echo/n"))
    assert await call.answered()
    reconnections = adapter._socket.connections
    await sim.drop_events_socket("opendeep")
    await adapter._socket.wait_until(lambda: adapter._socket.connections > reconnections, timeout=10)
    await call.hangup()
    result = await call.finished()
    assert (result.outcome, result.q850_cause) == (CallOutcome.ANSWERED, 16)
    assert sim.leftovers() == NOTHING


async def test_callee_hanging_up_while_the_events_socket_is_down_closes_the_call(sim, adapter, caplog):
    call_id = new_id()
    call = await adapter.originate(DialRequest(call_id, "Local/s@callee-echo/n"))
    assert await call.answered()
    sim.refuse_events = True
    await sim.drop_events_socket("opendeep")
    await adapter._socket.wait_for_state(SocketState.DOWN, SocketState.CONNECTING, timeout=5)
    with pytest.raises(TelephonyUnavailable):
        await adapter.originate(DialRequest(new_id(), "Local/s@callee-echo/n"))
    await sim.callee_hangup(call_id)  # its events are lost: nobody is listening
    assert f"{call_id}-media" in sim.leftovers()["channels"]  # the media channel lingers
    sim.refuse_events = False
    result = await asyncio.wait_for(call.finished(), 10)
    assert result.outcome is CallOutcome.ANSWERED and "events socket was down" in result.detail
    assert f"call {call_id}: its channel ended while the events socket was down" in caplog.text
    assert sim.leftovers() == NOTHING


async def test_media_socket_closing_ends_the_call(sim, adapter):
    call_id = new_id()
    call = await adapter.originate(DialRequest(call_id, "Local/s@callee-echo/n"))
    assert await call.answered()
    await sim.close_media(f"{call_id}-media", code=1011)
    events = await collect_until(call.media, lambda seen: isinstance(seen[-1], MediaClosed))
    assert isinstance(events[-1], MediaClosed)
    result = await call.finished()
    assert (result.outcome, result.hangup_by) == (CallOutcome.ANSWERED, "system")
    assert sim.leftovers() == NOTHING


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_asterisk_unreachable_at_start_up_then_appearing():
    port = free_port()
    sink = RecordingSink()
    config = AriConfig(f"http://127.0.0.1:{port}/ari", "opendeep", "opendeep", "opendeep",
                       connect_timeout_s=0.2, socket=SocketTimings(backoff_max_s=0.5))  # fmt: skip
    adapter = AriTelephony(config, sink)
    await adapter.start()
    try:
        status = await adapter.status()
        assert not status.ok and "unreachable" in status.reason
        with pytest.raises(TelephonyUnavailable):
            await adapter.originate(DialRequest(new_id(), "Local/s@callee-echo/n"))
        async with PbxSimulator(SimulatorConfig(time_scale=FAST), port=port) as sim:
            await adapter._socket.wait_for_state(SocketState.UP, timeout=15)
            call = await adapter.originate(DialRequest(new_id(), "Local/s@callee-busy/n"))
            assert (await call.finished()).outcome is CallOutcome.BUSY
            assert sim.leftovers() == NOTHING
    finally:
        await adapter.close()


async def test_leftovers_of_an_earlier_run_are_hung_up_at_start(sim, sink, rest):
    first = ari_telephony(sim, sink)
    await first.start()
    call = await first.originate(DialRequest(new_id(), "Local/s@callee-echo/n"))
    assert await call.answered()
    await first._socket.close()  # the process "dies": no teardown
    second = ari_telephony(sim, sink)
    await second.start()
    await sim.wait_until(lambda: sim.leftovers() == NOTHING)
    await second.close()
    for task in list(first._tasks):
        task.cancel()
    await first._session.close()


async def test_credentials_and_media_ids_never_reach_logs_or_stored_events(sink, caplog):
    caplog.set_level(logging.DEBUG)
    config = SimulatorConfig(users={"opendeep": "s3cret-Pa55word"}, time_scale=FAST)
    async with PbxSimulator(config) as sim:
        adapter = ari_telephony(sim, sink)
        await adapter.start()
        try:
            await _one_call(sim, adapter, sink, caplog)
        finally:
            await adapter.close()


async def _one_call(sim, adapter, sink, caplog):
    call_id = new_id()
    call = await adapter.originate(DialRequest(call_id, "Local/s@callee-echo/n"))
    assert await call.answered()
    connection_ids = set(call.ids.secrets)
    assert connection_ids
    await call.hangup()
    token = base64.b64encode(f"{sim.user}:{sim.password}".encode()).decode()
    stored = repr(sink.raw) + repr(sink.steps)
    for secret in (sim.password, token, *connection_ids):
        assert secret not in caplog.text
        assert secret not in stored
