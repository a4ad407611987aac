import pytest

from ari_apps.outcome import DialObservations, classify
from ari_apps.wire_events import parse_event
from engine.ports.telephony import CallOutcome

from .traces import originated_ids, trace_events


def observe_trace(name: str) -> DialObservations:
    ours, callee = originated_ids(name)
    seen = DialObservations(channel_id=ours, callee_channel_id=callee)
    for raw in trace_events(name):
        seen.observe(parse_event(raw)[1])
    return seen


@pytest.mark.parametrize(
    "trace, outcome, cause",
    [
        ("outcome-answered-callee-hangs-up", CallOutcome.ANSWERED, 16),
        ("outcome-busy", CallOutcome.BUSY, 17),
        ("outcome-congestion", CallOutcome.CONGESTION, 34),
        ("outcome-no-answer", CallOutcome.NO_ANSWER, 19),
        ("outcome-unallocated", CallOutcome.UNALLOCATED, 1),
        ("bridge-recording", CallOutcome.ANSWERED, 16),
    ],
)
def test_recorded_outcomes(trace, outcome, cause):
    result = classify(observe_trace(trace))
    assert (result.outcome, result.q850_cause, result.sip_code) == (outcome, cause, None)


def test_busy_trace_shows_the_local_channel_quirk():
    seen = observe_trace("outcome-busy")
    assert (seen.cause, seen.callee_cause, seen.dialstatus) == (0, 17, "BUSY")


def test_no_answer_trace_has_no_final_noanswer_dial():
    seen = observe_trace("outcome-no-answer")
    assert (seen.dialstatus, seen.cause) == ("RINGING", 19)


@pytest.mark.parametrize(
    "dialstatus, cause, tech_cause, callee_cause, outcome, q850, sip",
    [
        ("BUSY", 17, 486, None, CallOutcome.BUSY, 17, 486),
        ("BUSY", 0, None, None, CallOutcome.BUSY, 17, None),
        ("CONGESTION", 34, 503, None, CallOutcome.CONGESTION, 34, 503),
        ("NOANSWER", 1, 404, None, CallOutcome.UNALLOCATED, 1, 404),
        ("NOANSWER", 21, 603, None, CallOutcome.REJECTED, 21, 603),
        ("NOANSWER", 28, 484, None, CallOutcome.UNALLOCATED, 28, 484),
        ("NOANSWER", 18, 408, None, CallOutcome.NO_ANSWER, 18, 408),
        ("CHANUNAVAIL", 20, None, None, CallOutcome.UNAVAILABLE, 20, None),
        ("NOANSWER", 3, None, None, CallOutcome.UNAVAILABLE, 3, None),
        ("NOANSWER", 38, 500, None, CallOutcome.FAILED, 38, 500),
        ("NOANSWER", 58, 488, None, CallOutcome.FAILED, 58, 488),
        ("RINGING", 16, None, None, CallOutcome.NO_ANSWER, 16, None),  # we hung up while ringing
        ("", 0, None, 17, CallOutcome.BUSY, 17, None),  # only the callee leg told us
        ("", None, None, None, CallOutcome.FAILED, None, None),  # nothing at all
        ("", 99, 1000, None, CallOutcome.FAILED, 99, None),  # websocket close code is no SIP code
    ],
)
def test_cause_table(dialstatus, cause, tech_cause, callee_cause, outcome, q850, sip):
    seen = DialObservations("c1", "c1-callee", False, dialstatus, cause, tech_cause, callee_cause)
    result = classify(seen)
    assert (result.outcome, result.q850_cause, result.sip_code) == (outcome, q850, sip)
    assert result.detail.startswith(outcome.value)


@pytest.mark.parametrize(
    "trace, outcome, cause, sip",
    [
        ("pjsip-answered-callee-hangs-up", CallOutcome.ANSWERED, 16, None),
        ("pjsip-answered-intercept", CallOutcome.ANSWERED, 16, None),  # only the audio can tell
        ("pjsip-busy", CallOutcome.BUSY, 17, 486),
        ("pjsip-congestion", CallOutcome.CONGESTION, 34, 503),
        ("pjsip-no-answer", CallOutcome.NO_ANSWER, 19, 480),
        ("pjsip-unallocated", CallOutcome.UNALLOCATED, 1, 404),
        ("pjsip-rejected", CallOutcome.REJECTED, 21, 403),
        ("pjsip-unavailable", CallOutcome.UNAVAILABLE, 19, 480),  # 480 + 19 but it never rang
        ("pjsip-ring-then-busy", CallOutcome.BUSY, 17, 486),
        ("pjsip-early-media-intercept", CallOutcome.UNALLOCATED, 1, 404),  # Dial PROGRESS, then 404
    ],
)
def test_recorded_trunk_outcomes(trace, outcome, cause, sip):
    result = classify(observe_trace(trace))
    assert (result.outcome, result.q850_cause, result.sip_code) == (outcome, cause, sip)


def test_ring_timeout_during_early_media_is_no_answer_not_unavailable():
    """Seen on the real trunk: our 4 s timeout ran out during a 7.8 s early-media announcement."""
    seen = DialObservations("c1", "c1-callee")
    for raw in (
        {"type": "Dial", "dialstatus": "PROGRESS", "peer": {"id": "c1"}},
        {"type": "ChannelDestroyed", "cause": 19, "tech_cause": 480, "channel": {"id": "c1"}},
    ):
        seen.observe(parse_event(raw)[1])
    assert classify(seen).outcome is CallOutcome.NO_ANSWER
