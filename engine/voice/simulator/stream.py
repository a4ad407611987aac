"""The event sequence of one simulated response (openai-realtime.md §8.4)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any, Protocol

from engine.voice.simulator.controls import SimulatorControls
from engine.voice.simulator.script import Reply, SimToolCall


class ReplyTarget(Protocol):
    """What a response streams into: one `SimulatedSession` (engine.voice.simulator.session)."""

    sim: SimulatorControls
    session: dict[str, Any]
    items: list[dict[str, Any]]
    audio_ms_sent: dict[str, float]
    input_ms: int

    @property
    def cancel_reason(self) -> str | None: ...

    def send(self, event: dict[str, Any]) -> None: ...

    def send_rate_limits(self, requests_remaining: int) -> None: ...

    async def wait_release(self) -> None: ...

    def output_audio(self, duration_ms: float, phase_ms: float) -> bytes: ...


async def stream_reply(s: ReplyTarget, reply: Reply, response_id: str) -> float:
    """Streams the response `response_id`; returns how many ms of audio it sent."""
    output: list[dict[str, Any]] = []
    s.send({"type": "response.created", "response": _response(response_id, "in_progress", [])})
    s.send_rate_limits(s.sim.rate_limit_remaining)
    spoken_ms = 0.0
    if reply.duration_ms > 0:
        item, spoken_ms = await _stream_audio(s, response_id, reply)
        output.append(item)
    cancelled = s.cancel_reason is not None
    # Like the service: a cancelled response still finishes its function-call items (their
    # arguments.done and output_item.done), marked incomplete.
    for call in reply.tool_calls:
        output.append(_function_call(s, response_id, len(output), call, "incomplete" if cancelled else "completed"))
    status = "cancelled" if cancelled else "completed"
    response = _response(response_id, status, output)
    if cancelled:
        response["status_details"] = {"type": "cancelled", "reason": s.cancel_reason}
    response["usage"] = _usage(s, reply, spoken_ms)
    s.send({"type": "response.done", "response": response})
    return spoken_ms


async def _stream_audio(s: ReplyTarget, response_id: str, reply: Reply) -> tuple[dict[str, Any], float]:
    item_id = s.sim.next_id("item")
    item: dict[str, Any] = {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    where = {"response_id": response_id, "item_id": item_id, "output_index": 0}
    s.send({"type": "response.output_item.added", "response_id": response_id, "output_index": 0, "item": item})
    s.send({"type": "conversation.item.added", "item": item})
    s.send(
        {
            "type": "response.content_part.added",
            **where,
            "content_index": 0,
            "part": {"type": "output_audio", "transcript": ""},
        }
    )
    s.audio_ms_sent[item_id] = 0.0
    total, position = reply.duration_ms, 0.0
    while position < total and s.cancel_reason is None:
        if reply.hold_after_ms is not None and position >= reply.hold_after_ms:
            await s.wait_release()
            if s.cancel_reason is not None:
                break
        position = _send_delta(s, where, position, min(s.sim.chunk_ms, total - position))
        await asyncio.sleep(0)
    if s.cancel_reason is not None:
        for _ in range(reply.late_deltas):
            position = _send_delta(s, where, position, s.sim.chunk_ms)
    complete = s.cancel_reason is None
    text = reply.text if complete else reply.text[: int(len(reply.text) * position / max(total, 1))]
    part = {"type": "output_audio", "transcript": text}
    s.send({"type": "response.output_audio_transcript.delta", **where, "content_index": 0, "delta": text})
    s.send({"type": "response.output_audio_transcript.done", **where, "content_index": 0, "transcript": text})
    s.send({"type": "response.output_audio.done", **where, "content_index": 0})
    s.send({"type": "response.content_part.done", **where, "content_index": 0, "part": part})
    item = {**item, "status": "completed" if complete else "incomplete", "content": [part]}
    s.items.append(item)
    s.send({"type": "response.output_item.done", "response_id": response_id, "output_index": 0, "item": item})
    s.send({"type": "conversation.item.done", "item": item})
    return item, position


def _send_delta(s: ReplyTarget, where: dict[str, Any], position: float, duration_ms: float) -> float:
    audio = s.output_audio(duration_ms, position)
    s.send(
        {"type": "response.output_audio.delta", **where, "content_index": 0, "delta": base64.b64encode(audio).decode()}
    )
    position += duration_ms
    s.audio_ms_sent[where["item_id"]] = position
    return position


def _function_call(s: ReplyTarget, response_id: str, index: int, call: SimToolCall, status: str) -> dict[str, Any]:
    name, arguments = call.name, call.arguments_json
    item_id, call_id = s.sim.next_id("item"), s.sim.next_id("call")
    item: dict[str, Any] = {
        "id": item_id,
        "type": "function_call",
        "status": "in_progress",
        "name": name,
        "call_id": call_id,
        "arguments": "",
    }
    s.send({"type": "response.output_item.added", "response_id": response_id, "output_index": index, "item": item})
    s.send(
        {
            "type": "response.function_call_arguments.delta",
            "response_id": response_id,
            "item_id": item_id,
            "output_index": index,
            "call_id": call_id,
            "delta": arguments,
        }
    )
    s.send(
        {
            "type": "response.function_call_arguments.done",
            "response_id": response_id,
            "item_id": item_id,
            "output_index": index,
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
        }
    )
    item = {**item, "status": status, "arguments": arguments}
    s.items.append(item)
    s.send({"type": "response.output_item.done", "response_id": response_id, "output_index": index, "item": item})
    return item


def _response(response_id: str, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": None,
        "output": output,
        "conversation_id": "conv_sim",
        "output_modalities": ["audio"],
        "usage": None,
    }


def _usage(s: ReplyTarget, reply: Reply, spoken_ms: float) -> dict[str, Any]:
    audio_in = s.input_ms // 100  # 1 token per 100 ms of callee audio
    text_in = len(s.session.get("instructions", "")) // 4 + 20
    audio_out = int(spoken_ms // 50)  # 1 token per 50 ms of agent audio
    text_out = len(reply.text) // 4 + sum(len(c.arguments_json) // 4 for c in reply.tool_calls)
    return {
        "total_tokens": audio_in + text_in + audio_out + text_out,
        "input_tokens": audio_in + text_in,
        "output_tokens": audio_out + text_out,
        "input_token_details": {"audio_tokens": audio_in, "text_tokens": text_in, "cached_tokens": 0},
        "output_token_details": {"audio_tokens": audio_out, "text_tokens": text_out},
    }
