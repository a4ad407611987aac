import json
import logging

import pytest

from ari_apps import wire_events as we

from .traces import TRACES, require_shared, trace_events

ALL_TRACES = [
    "outcome-answered-callee-hangs-up",
    "outcome-busy",
    "outcome-congestion",
    "outcome-no-answer",
    "outcome-unallocated",
    "media-websocket-slin16",
    "media-websocket-ulaw",
    "media-audiosocket-slin16",
    "events-reconnect",
    "bridge-recording",
    "app-replaced",
    "rest-errors",
]


@pytest.mark.parametrize("trace", ALL_TRACES)
def test_every_recorded_event_parses_with_its_type(trace):
    for raw in trace_events(trace):
        parsed = we.parse_event(json.dumps(raw))
        assert parsed is not None, raw["type"]
        kept, event = parsed
        assert kept == raw
        assert event.type == raw["type"]
        assert isinstance(event, we.EVENT_MODELS[raw["type"]])


def test_fields_we_act_on_are_decoded_exactly():
    events = [we.parse_event(raw)[1] for raw in trace_events("outcome-busy")]
    dials = [e for e in events if isinstance(e, we.Dial)]
    assert [d.dialstatus for d in dials] == ["", "BUSY"]
    assert dials[0].peer.id == "ed8f5610-18c6-407f-96f9-474c2c1672a3"
    destroyed = [(e.channel.id[-6:], e.cause, e.cause_txt) for e in events if isinstance(e, we.ChannelDestroyed)]
    assert destroyed == [("callee", 17, "User busy"), ("1672a3", 0, "Unknown")]


def test_routing_ids_of_bridge_and_recording_events():
    events = [we.parse_event(raw)[1] for raw in trace_events("bridge-recording")]
    started = next(e for e in events if isinstance(e, we.RecordingStarted))
    assert started.channel_ids() == ("da4a39d7-44ab-47f2-99ad-2418b21aa7e7-bridge",)
    entered = next(e for e in events if isinstance(e, we.ChannelEnteredBridge))
    assert entered.channel_ids() == (
        "da4a39d7-44ab-47f2-99ad-2418b21aa7e7-bridge",
        "da4a39d7-44ab-47f2-99ad-2418b21aa7e7",
    )


def test_stasis_start_args_and_dtmf_digit():
    events = [we.parse_event(raw)[1] for raw in trace_events("media-websocket-ulaw")]
    starts = [e for e in events if isinstance(e, we.StasisStart)]
    assert starts[0].args == ["outbound", "eff00471-23e8-4b5a-921b-31c2a4c0705d"]
    assert starts[1].channel.id.endswith("-media")
    digits = [e.digit for e in events if isinstance(e, we.ChannelDtmfReceived)]
    assert digits == ["1", "2", "3", "#", "2"]


@pytest.mark.parametrize(
    "data, reason",
    [
        ("not json", "not a JSON object"),
        ("[1, 2]", "not a JSON object"),
        ('{"no": "type"}', "unknown type None"),
        ('{"type": "SomethingNew", "x": 1}', "unknown type 'SomethingNew'"),
        ('{"type": "ChannelDestroyed", "cause": "sixteen", "channel": {"id": "c1"}}', "channel c1"),
        ('{"type": "StasisStart", "channel": {"name": "no id"}}', "skipped"),
    ],
)
def test_malformed_or_unknown_events_are_logged_and_skipped(data, reason, caplog):
    with caplog.at_level(logging.WARNING, logger="ari_apps.wire_events"):
        assert we.parse_event(data) is None
    assert reason in caplog.text


def test_every_event_type_in_the_spec_has_a_model():
    spec = json.loads(require_shared(TRACES.parent / "ari-spec" / "events.json").read_text())
    event_types = set(spec["models"]["Event"]["subTypes"])
    assert len(event_types) > 40
    assert event_types - {"RESTResponse"} <= set(we.EVENT_MODELS)
