"""chan_websocket on the wire, as Asterisk's channels/chan_websocket.c and res_http_websocket.c do it.

- no binary frames at all while the callee is quiet (Asterisk writes only what the bridge gives it);
- a WebSocket frame over 65,535 bytes (header included) closes the socket with 1009, which
  hangs the media channel up; a TEXT command over 128 bytes is ignored;
- MEDIA_XOFF holds back our audio, never our commands: a barge-in's FLUSH_MEDIA is not kept
  waiting until Asterisk's queue drains to the XON level.
"""

import asyncio
import json
import uuid

import aiohttp
import pytest

from ari_apps.events_socket import EventsSocket
from ari_apps.media_websocket import MAX_MESSAGE_BYTES
from engine.ports.telephony import AudioFormat, CallOutcome, DialRequest, MarkPlayed

from .audio_checks import audible, tone
from .fakes import collect_until
from .telephony import ari_telephony
from .test_calls import new_id


async def _noop() -> None:
    return None


@pytest.fixture
async def app_socket(sim, rest, http):
    socket = EventsSocket(sim.ari_url, "opendeep", rest.auth_headers, http, lambda raw, e: None, _noop,
                          lambda reason: None)  # fmt: skip
    socket.start()
    assert await socket.wait_up(5)
    yield socket
    await socket.close()


async def media_socket(sim, rest, http, persona: str):
    """Call `persona`, bridge it with a chan_websocket channel (ulaw); our raw end of the media socket."""
    call_id, media_id, bridge_id = new_id(), str(uuid.uuid4()), str(uuid.uuid4())
    await rest.originate(f"Local/s@callee-{persona}/n", "opendeep", call_id, other_channel_id=f"{call_id}-callee")
    await sim.wait_until(lambda: call_id in sim.pbx.answered)
    media = await rest.external_media("opendeep", media_id, "ulaw", transport="websocket", encapsulation="none",
                                      connection_type="server", transport_data="f(json)")  # fmt: skip
    connection = media["channelvars"]["MEDIA_WEBSOCKET_CONNECTION_ID"]
    ws = await http.ws_connect(sim.ari_url.removesuffix("/ari") + f"/media/{connection}", protocols=("media",))
    start = json.loads((await ws.receive()).data)
    assert start["event"] == "MEDIA_START"
    await sim.wait_until(lambda: sim.pbx.channels[media_id].in_stasis)
    await rest.create_bridge(bridge_id)
    await rest.add_channels(bridge_id, [call_id, media_id])
    return call_id, media_id, ws


async def test_no_frames_while_the_callee_is_quiet(sim, rest, http, app_socket):
    """silence-then-talk waits for us to be quiet, then speaks: the first frame we get is its speech."""
    call_id, _, ws = await media_socket(sim, rest, http, "silence-then-talk")
    first = await asyncio.wait_for(ws.receive(), 10)
    while first.type is aiohttp.WSMsgType.TEXT:
        first = await asyncio.wait_for(ws.receive(), 10)
    assert first.type is aiohttp.WSMsgType.BINARY and audible(AudioFormat.ULAW, first.data)
    await ws.close()


async def test_a_websocket_frame_over_65535_bytes_closes_the_media_socket_with_1009(sim, rest, http, app_socket):
    call_id, media_id, ws = await media_socket(sim, rest, http, "echo")
    await ws.send_bytes(b"\xff" * MAX_MESSAGE_BYTES)  # our own limit is fine
    await ws.send_str(json.dumps({"command": "GET_STATUS"}))
    while (msg := await asyncio.wait_for(ws.receive(), 5)).type is not aiohttp.WSMsgType.TEXT or "STATUS" not in msg.data:
        assert msg.type is aiohttp.WSMsgType.BINARY, f"media socket closed ({ws.close_code}) by a {MAX_MESSAGE_BYTES}-byte frame"
    await ws.send_bytes(b"\xff" * (65535 - 8 + 1))  # one byte more than a masked frame can carry
    while (msg := await asyncio.wait_for(ws.receive(), 5)).type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
        pass
    assert ws.close_code == 1009
    await sim.wait_until(lambda: media_id not in sim.pbx.channels)


async def test_a_text_command_over_128_bytes_is_ignored(sim, rest, http, app_socket):
    call_id, _, ws = await media_socket(sim, rest, http, "echo")
    await ws.send_str(json.dumps({"command": "MARK_MEDIA", "correlation_id": "x" * 100}))  # 145 bytes
    await ws.send_str(json.dumps({"command": "MARK_MEDIA", "correlation_id": "short"}))
    marks = []
    while len(marks) < 1:
        msg = await asyncio.wait_for(ws.receive(), 5)
        if msg.type is aiohttp.WSMsgType.TEXT and json.loads(msg.data)["event"] == "MEDIA_MARK_PROCESSED":
            marks.append(json.loads(msg.data)["correlation_id"])
    assert marks == ["short"]
    await ws.close()


@pytest.fixture
async def telephony_on_sim(sim, sink):
    adapter = ari_telephony(sim, sink, mode="simulated")
    await adapter.start()
    yield adapter
    await adapter.close()


async def test_flush_during_xoff_is_not_held_back_until_xon(sim, telephony_on_sim):
    telephony = telephony_on_sim
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, "Local/s@callee-echo/n"))
    assert await call.answered() is True
    callee = sim.callee(call_id)
    [link] = sim.pbx.media_links.values()
    await call.media.send_audio(tone(AudioFormat.ULAW, 1000, 19.0))  # 950 frames: Asterisk says XOFF at 900
    await sim.wait_until(lambda: link.xoff)
    for _ in range(1000):  # the MEDIA_XOFF text is on its way to our stream; let its reader take it
        if not call.media._xon.is_set():
            break
        await asyncio.sleep(0.001)
    await call.media.send_audio(tone(AudioFormat.ULAW, 1000, 10.0))  # held back by XOFF
    heard_at_flush = len(callee.heard)
    await call.media.flush()
    await call.media.mark("after-flush")
    await collect_until(call.media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen), timeout=10)
    frames_played_meanwhile = (len(callee.heard) - heard_at_flush) // 160
    assert frames_played_meanwhile < 50  # not the 100 frames (2 s) it takes the queue to drain from 900 to XON's 800
    await call.hangup()
    assert (await call.finished()).outcome is CallOutcome.ANSWERED
