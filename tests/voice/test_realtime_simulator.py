"""The simulator's side of the GA contract, spoken to over a raw WebSocket (no SDK)."""

from __future__ import annotations

import asyncio
import base64
import json

from websockets.asyncio.client import connect

from engine.voice.codecs import pcm16_to_ulaw, tone_pcm16
from engine.voice.simulator.script import Reply, ScriptedReplies
from engine.voice.simulator.server import RealtimeSimulator


async def until(ws, event_type: str, timeout: float = 5.0) -> list[dict]:
    seen = []

    async def run() -> None:
        while True:
            event = json.loads(await ws.recv())
            seen.append(event)
            if event["type"] == event_type:
                return

    await asyncio.wait_for(run(), timeout)
    return seen


PCMU = {"type": "audio/pcmu"}


async def configure(ws, **extra) -> dict:
    session = {"type": "realtime", "audio": {"input": {"format": PCMU}, "output": {"format": PCMU}}, **extra}
    await ws.send(json.dumps({"type": "session.update", "session": session}))
    return (await until(ws, "session.updated"))[-1]["session"]


async def test_handshake_merge_and_validation() -> None:
    async with RealtimeSimulator() as sim, connect(sim.base_url + "/realtime?model=m") as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        merged = await configure(ws, instructions="Be kind.")
        assert merged["instructions"] == "Be kind." and merged["audio"]["output"]["format"] == PCMU
        assert merged["audio"]["output"]["voice"] == "marin"  # untouched defaults stay
        await ws.send(json.dumps({"type": "session.update", "session": {"instructions": "x"}}))
        assert (await until(ws, "error"))[-1]["error"]["code"] == "missing_required_parameter"
        await ws.send(
            json.dumps(
                {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"format": "pcm16"}}}}
            )
        )
        assert (await until(ws, "error"))[-1]["error"]["code"] == "invalid_type"
        await ws.send(json.dumps({"type": "totally.unknown", "event_id": "e1"}))
        error = (await until(ws, "error"))[-1]["error"]
        assert error["code"] == "invalid_type" and error["event_id"] == "e1"
        await ws.send(json.dumps({"type": "response.cancel"}))
        assert (await until(ws, "error"))[-1]["error"]["code"] == "response_cancel_not_active"
        assert [e["type"] for e in sim.received()][-1] == "response.cancel"


async def test_response_sequence_and_active_response_error() -> None:
    replies = ScriptedReplies([Reply("Hi there", audio_ms=250, hold_after_ms=100)])
    async with RealtimeSimulator(replies, chunk_ms=50) as sim, connect(sim.base_url + "/realtime") as ws:
        await configure(ws)
        await ws.send(json.dumps({"type": "response.create"}))
        await ws.send(json.dumps({"type": "response.create", "event_id": "second"}))
        events = await until(ws, "error")
        assert events[-1]["error"]["code"] == "conversation_already_has_active_response"
        assert events[-1]["error"]["event_id"] == "second"
        sim.sessions[0].release()
        events += await until(ws, "response.done")
        types = [e["type"] for e in events if e["type"] not in ("error", "session.created")]
        assert types[:5] == [
            "response.created",
            "rate_limits.updated",
            "response.output_item.added",
            "conversation.item.added",
            "response.content_part.added",
        ]
        assert types[-7:] == [
            "response.output_audio_transcript.delta",
            "response.output_audio_transcript.done",
            "response.output_audio.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ]
        deltas = [base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"]
        assert [len(d) for d in deltas] == [400] * 5  # 50 ms of pcmu each
        done = events[-1]["response"]
        assert done["status"] == "completed" and done["usage"]["output_token_details"]["audio_tokens"] == 5


async def test_a_cancel_naming_a_response_stops_only_that_one() -> None:
    held = {"audio_ms": 200, "hold_after_ms": 0}
    replies = ScriptedReplies([Reply("One", audio_ms=100), Reply("Two", **held), Reply("Three", **held)])
    async with RealtimeSimulator(replies, chunk_ms=50) as sim, connect(sim.base_url + "/realtime") as ws:
        await configure(ws)
        await ws.send(json.dumps({"type": "response.create"}))
        first = (await until(ws, "response.done"))[-1]["response"]["id"]
        await ws.send(json.dumps({"type": "response.create"}))
        second = (await until(ws, "response.created"))[-1]["response"]["id"]
        # The first is done and another is active: the cancel naming the first stops nothing
        await ws.send(json.dumps({"type": "response.cancel", "response_id": first, "event_id": "late"}))
        error = (await until(ws, "error"))[-1]["error"]
        assert (error["code"], error["event_id"]) == ("response_cancel_not_active", "late")
        assert sim.sessions[0].response_active and sim.sessions[0].cancel_reason is None
        await ws.send(json.dumps({"type": "response.cancel", "response_id": second}))
        done = (await until(ws, "response.done"))[-1]["response"]
        assert (done["id"], done["status"], done["status_details"]["reason"]) == (
            second,
            "cancelled",
            "client_cancelled",
        )
        await ws.send(json.dumps({"type": "response.create"}))
        third = (await until(ws, "response.created"))[-1]["response"]["id"]
        await ws.send(json.dumps({"type": "response.cancel"}))  # a bare cancel stops the active one
        done = (await until(ws, "response.done"))[-1]["response"]
        assert (done["id"], done["status"]) == (third, "cancelled")


async def test_energy_vad_finds_speech_in_appended_audio() -> None:
    async with (
        RealtimeSimulator(ScriptedReplies([Reply("Yes?", audio_ms=100)]), energy_vad=True) as sim,
        connect(sim.base_url + "/realtime") as ws,
    ):
        await configure(ws)
        voice = pcm16_to_ulaw(tone_pcm16(400, 8000, frequency=300, level=0.3)) + b"\xff" * 8 * 600
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(voice).decode()}))
        events = await until(ws, "response.done")
        types = [e["type"] for e in events]
        assert types.index("input_audio_buffer.speech_started") < types.index("input_audio_buffer.speech_stopped")
        assert types.index("input_audio_buffer.committed") < types.index("response.created")
