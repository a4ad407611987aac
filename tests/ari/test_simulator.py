"""The simulator against the real-Asterisk traces and error answers."""

import pytest

from ari_apps.events_socket import EventsSocket, SocketState
from ari_apps.rest_client import AriError
from ari_apps.simulator import personas
from ari_apps.wire_events import AriEvent, ChannelDestroyed, Dial, StasisEnd, StasisStart, parse_event

from .traces import load_trace, originated_ids, trace_events


class Recorder:
    def __init__(self) -> None:
        self.events: list[AriEvent] = []

    def __call__(self, raw, event) -> None:
        self.events.append(event)


async def _noop() -> None:
    return None


@pytest.fixture
async def events(sim, rest, http):
    recorder = Recorder()
    socket = EventsSocket(sim.ari_url, "opendeep", rest.auth_headers, http, recorder, _noop, lambda reason: None)
    socket.start()
    assert await socket.wait_up(5)
    recorder.socket = socket
    yield recorder
    await socket.close()


def shape(events: list[AriEvent], ours: str) -> tuple[list[tuple], set[tuple]]:
    """Ordered Dial/Stasis events and the set of (leg, cause) destructions, with ids replaced by roles."""

    def role(channel_id: str) -> str:
        return "ours" if channel_id == ours else "callee"

    ordered, destroyed = [], set()
    for e in events:
        match e:
            case Dial(peer=peer, dialstatus=status):
                ordered.append(("Dial", role(peer.id), status))
            case StasisStart(channel=ch) | StasisEnd(channel=ch):
                ordered.append((e.type, role(ch.id)))
            case ChannelDestroyed(channel=ch, cause=cause):
                destroyed.add((role(ch.id), cause))
    return ordered, destroyed


@pytest.mark.parametrize(
    "trace",
    ["outcome-busy", "outcome-congestion", "outcome-no-answer", "outcome-unallocated", "outcome-answered-callee-hangs-up"],
)
async def test_outcome_event_sequences_follow_the_traces(trace, sim, rest, events):
    call_id, callee_id = originated_ids(trace)
    originate = next(r for r in load_trace(trace) if r["kind"] == "rest")["params"]
    await rest.originate(
        originate["endpoint"], "opendeep", call_id,
        app_args=originate["appArgs"].split(","), other_channel_id=callee_id, timeout_s=int(originate["timeout"]),
        caller_id=originate["callerId"],
    )  # fmt: skip
    await sim.wait_until(lambda: call_id not in sim.pbx.channels and callee_id not in sim.pbx.channels)
    await sim.wait_until(lambda: any(isinstance(e, ChannelDestroyed) and e.channel.id == call_id for e in events.events))
    recorded = [parse_event(raw)[1] for raw in trace_events(trace)]
    assert shape(events.events, call_id) == shape(recorded, call_id)
    assert sim.leftovers() == {"channels": [], "bridges": []}


async def test_rest_errors_match_asterisk(sim, rest):
    expected = [
        (r["method"], r["path"].removeprefix("/ari"), r["params"], r["status"], r["response"])
        for r in load_trace("rest-errors")
        if r["kind"] == "rest" and r["status"] >= 400 and r["status"] != 409  # 409s need a live call: below
    ]
    assert len(expected) == 6
    for method, path, params, status, response in expected:
        with pytest.raises(AriError) as caught:
            await rest.request(method, path, params)
        message = response.get("message") or response.get("error")
        assert (caught.value.status, caught.value.message) == (status, message), path


async def test_duplicate_channel_id_and_dtmf_while_ringing_are_409(sim, rest, events):
    await rest.originate("Local/s@callee-noanswer/n", "opendeep", "c1", timeout_s=60)
    with pytest.raises(AriError) as caught:
        await rest.send_dtmf("c1", "1")
    assert (caught.value.status, caught.value.message) == (409, "Channel not in Stasis application")
    with pytest.raises(AriError) as caught:
        await rest.originate("Local/s@callee-echo/n", "opendeep", "c1")
    assert (caught.value.status, caught.value.message) == (409, "Channel with given unique ID already exists")
    await rest.hangup("c1")
    assert sim.leftovers() == {"channels": [], "bridges": []}


async def test_bad_credentials_get_401(sim, http):
    async with http.get(sim.ari_url + "/channels", headers={"Authorization": "Basic eDp5"}) as resp:
        assert resp.status == 401
        assert await resp.json() == {"message": "Authentication required"}


async def test_second_events_socket_replaces_the_first(sim, rest, http, events):
    second = await http.ws_connect(
        sim.ari_url.replace("http", "ws") + "/events", params={"app": "opendeep"}, headers=rest.auth_headers
    )
    await events.socket.wait_for_state(SocketState.REPLACED, timeout=5)
    assert "taken over" in events.socket.last_error
    await second.close()
    await sim.wait_until(lambda: not sim.events_connected("opendeep"))


async def test_events_are_lost_while_the_socket_is_down_and_answered_calls_are_hung_up(sim, rest):
    await rest.originate("Local/s@callee-echo/n", "opendeep", "lonely", timeout_s=10)
    await sim.wait_until(lambda: "lonely" not in sim.pbx.channels)
    assert sim.pbx.lost_events > 0


async def test_pjsip_numbers_reach_the_documented_personas():
    table = [line for line in personas.__doc__.splitlines() if line.startswith("| ") and "+1202555" in line]
    documented = {cells[2].strip(): cells[1].strip() for cells in (line.split("|") for line in table)}
    assert documented == personas.TEST_NUMBERS
    assert personas.persona_for_endpoint("PJSIP/+12025550102@trunk", personas.TEST_NUMBERS, "talker")[2].name == "busy"
    assert personas.persona_for_endpoint("Local/s@callee-ivr/n", {}, "talker")[2].name == "ivr"
    assert personas.persona_for_endpoint("Bogus/thing", {}, "talker") is None


async def test_our_hangup_is_answered_before_the_channel_is_torn_down(sim, rest, events):
    """traces/media-websocket-slin16: DELETE /channels/{id} -> 204 at t=5.5551, its ChannelHangupRequest at 5.5553."""
    trace = load_trace("media-websocket-slin16")
    delete = next(i for i, r in enumerate(trace) if r["kind"] == "rest" and r["method"] == "DELETE")
    request = next(i for i, r in enumerate(trace) if i > delete and r["kind"] == "event")
    assert trace[request]["event"]["type"] == "ChannelHangupRequest" and trace[request]["t"] > trace[delete]["t"]
    call_id = "c-hangup-order"
    await rest.originate("Local/s@callee-echo/n", "opendeep", call_id, other_channel_id=f"{call_id}-callee")
    await sim.wait_until(lambda: call_id in sim.pbx.answered)
    await rest.hangup(call_id)
    await sim.wait_until(lambda: call_id not in sim.pbx.channels)
    wire = sim.pbx.wire
    replied = wire.index(("rest", "DELETE", f"/channels/{call_id}", 204))
    torn_down = wire.index(("event", "ChannelHangupRequest", call_id))
    assert replied < torn_down < wire.index(("event", "ChannelDestroyed", call_id))
