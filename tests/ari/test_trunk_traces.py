"""The simulator through `PJSIP/<number>@trunk` against the real trunk traces (traces/pjsip-*).

Each trace's carrier number is given the simulator persona that behaves like the carrier
did; the trace's own originate is replayed, and our leg's events must match the trace's:
type, channel state, cause, tech_cause (the SIP code) and Dial status. `ChannelVarset` is
left out (Asterisk's dialplan variables, not part of the call's course). Asterisk sends
`ChannelStateChange` (Ringing) and `Dial RINGING` in either order (both orders are in the
traces): the pair is compared in one canonical order.
"""

import asyncio

import pytest

from ari_apps.events_socket import EventsSocket
from ari_apps.outcome import DialObservations, classify
from ari_apps.wire_events import parse_event
from engine.ports.telephony import CallOutcome

from .traces import load_trace, originated_ids, trace_events

TRACE_PERSONAS = {
    "pjsip-busy": ("busy", CallOutcome.BUSY),
    "pjsip-congestion": ("congestion", CallOutcome.CONGESTION),
    "pjsip-no-answer": ("noanswer", CallOutcome.NO_ANSWER),
    "pjsip-unallocated": ("unallocated", CallOutcome.UNALLOCATED),
    "pjsip-rejected": ("rejected", CallOutcome.REJECTED),
    "pjsip-unavailable": ("unavailable", CallOutcome.UNAVAILABLE),
    "pjsip-ring-then-busy": ("ring-then-busy", CallOutcome.BUSY),
    "pjsip-early-media-intercept": ("early-media-intercept", CallOutcome.UNALLOCATED),
    "pjsip-answered-intercept": ("answered-intercept", CallOutcome.ANSWERED),
    "pjsip-answered-callee-hangs-up": ("answer-play-hangup", CallOutcome.ANSWERED),
}


async def _noop() -> None:
    return None


def our_leg(raw_events: list[dict], ours: str) -> list[tuple]:
    out = []
    for e in raw_events:
        channel = e.get("channel") or e.get("peer") or {}
        if e["type"] == "ChannelVarset" or channel.get("id") != ours:
            continue
        out.append((e["type"], channel.get("state"), e.get("cause"), e.get("tech_cause"), e.get("dialstatus")))
    for i in range(len(out) - 1):  # the Ringing race, in one order
        if out[i][0] == "Dial" and out[i][4] == "RINGING" and out[i + 1][0] == "ChannelStateChange":
            out[i], out[i + 1] = out[i + 1], out[i]
    return [(t, "Ringing" if t == "Dial" and s == "RINGING" else state, c, tc, s) for t, state, c, tc, s in out]


class RawEvents(list):
    def __init__(self) -> None:
        super().__init__()
        self.destroyed = asyncio.Event()

    def __call__(self, raw: dict, event: object) -> None:
        self.append(raw)
        if raw["type"] == "ChannelDestroyed":
            self.destroyed.set()


@pytest.fixture
async def raw_events(sim, rest, http):
    seen = RawEvents()
    socket = EventsSocket(sim.ari_url, "opendeep", rest.auth_headers, http, seen, _noop, lambda reason: None)
    socket.start()
    assert await socket.wait_up(5)
    yield seen
    await socket.close()


@pytest.mark.parametrize("trace", sorted(TRACE_PERSONAS))
async def test_trunk_calls_follow_the_real_traces(trace, sim, rest, raw_events):
    persona, outcome = TRACE_PERSONAS[trace]
    call_id, callee_id = originated_ids(trace)
    originate = next(r for r in load_trace(trace) if r["kind"] == "rest")["params"]
    sim.config.numbers[originate["endpoint"].removeprefix("PJSIP/").partition("@")[0]] = persona
    await rest.originate(
        originate["endpoint"], "opendeep", call_id,
        app_args=originate["appArgs"].split(","), other_channel_id=callee_id, timeout_s=int(originate["timeout"]),
        caller_id=originate.get("callerId"),
    )  # fmt: skip
    await asyncio.wait_for(raw_events.destroyed.wait(), 15)
    recorded = trace_events(trace)
    assert our_leg(raw_events, call_id) == our_leg(recorded, call_id)
    assert not any((e.get("channel") or e.get("peer") or {}).get("id") == callee_id for e in raw_events)  # no callee leg
    seen = DialObservations(call_id, callee_id)
    for raw in raw_events:
        seen.observe(parse_event(raw)[1])
    assert classify(seen).outcome is outcome
    assert sim.leftovers() == {"channels": [], "bridges": []}
