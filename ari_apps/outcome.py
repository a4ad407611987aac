"""Classify how an outbound attempt ended, from ARI events alone (asterisk-ari.md §2.4).

`DialObservations` collects the few facts that matter while the events flow;
`classify()` is a pure function of them. Quirks handled (all seen on a real Asterisk):
- with Local channels our leg's own cause is 0 on busy/congestion: use the callee
  leg's cause or `Dial.dialstatus`;
- a ring timeout ends with cause 19 and no final `Dial NOANSWER`;
- unallocated (1), rejected (21) and most failures all say `dialstatus=NOANSWER`,
  so the cause decides;
- through a SIP trunk a carrier's "unavailable" (480) arrives as cause 19, the ring
  timeout's own cause: it is no answer only if the far end was reached (`Dial RINGING` or
  `PROGRESS`), else unavailable (traces/pjsip-unavailable vs pjsip-no-answer);
- early media (`Dial PROGRESS`, a 183 with an announcement) then cause 1 is a dead number.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.ports.telephony import CallOutcome

from .wire_events import AriEvent, ChannelDestroyed, Dial, StasisStart

CAUSE_OUTCOMES: dict[int, CallOutcome] = {
    1: CallOutcome.UNALLOCATED,  # UNALLOCATED; SIP 404, 485, 604
    22: CallOutcome.UNALLOCATED,  # NUMBER_CHANGED; SIP 410
    28: CallOutcome.UNALLOCATED,  # INVALID_NUMBER_FORMAT; SIP 484
    17: CallOutcome.BUSY,  # USER_BUSY; SIP 486, 600
    18: CallOutcome.NO_ANSWER,  # NO_USER_RESPONSE; SIP 408
    19: CallOutcome.NO_ANSWER,  # NO_ANSWER (our ring timeout); SIP 480
    21: CallOutcome.REJECTED,  # CALL_REJECTED; SIP 401, 403, 407, 603
    3: CallOutcome.UNAVAILABLE,  # NO_ROUTE_DESTINATION
    20: CallOutcome.UNAVAILABLE,  # SUBSCRIBER_ABSENT
    34: CallOutcome.CONGESTION,  # NORMAL_CIRCUIT_CONGESTION; SIP 503
    27: CallOutcome.FAILED,  # DESTINATION_OUT_OF_ORDER
    38: CallOutcome.FAILED,  # NETWORK_OUT_OF_ORDER
    41: CallOutcome.FAILED,  # NORMAL_TEMPORARY_FAILURE
    42: CallOutcome.FAILED,  # SWITCH_CONGESTION
    58: CallOutcome.FAILED,  # BEARERCAPABILITY_NOTAVAIL (codecs)
    102: CallOutcome.FAILED,  # RECOVERY_ON_TIMER_EXPIRE
}

DIALSTATUS_OUTCOMES: dict[str, CallOutcome] = {
    "BUSY": CallOutcome.BUSY,
    "CONGESTION": CallOutcome.CONGESTION,
    "CHANUNAVAIL": CallOutcome.UNAVAILABLE,
    "NOANSWER": CallOutcome.NO_ANSWER,
    "RINGING": CallOutcome.NO_ANSWER,
    "PROGRESS": CallOutcome.NO_ANSWER,
    "PROCEEDING": CallOutcome.NO_ANSWER,
    "CANCEL": CallOutcome.NO_ANSWER,
}

# A dialstatus that names the outcome outright, whatever our leg's cause says.
_DECISIVE_DIALSTATUS = {"BUSY", "CONGESTION", "CHANUNAVAIL"}
_DIALSTATUS_CAUSES = {"BUSY": 17, "CONGESTION": 34, "CHANUNAVAIL": 20}
_NO_ANSWER = 19


@dataclass(slots=True)
class DialObservations:
    """What the events of one attempt said, as far as the outcome is concerned."""

    channel_id: str
    callee_channel_id: str = ""
    answered: bool = False
    dialstatus: str = ""  # the last non-empty Dial.dialstatus of our leg
    cause: int | None = None  # our leg's ChannelDestroyed.cause
    tech_cause: int | None = None  # our leg's tech_cause (SIP status on PJSIP)
    callee_cause: int | None = None  # the Local ;2 leg's ChannelDestroyed.cause
    rang: bool = False  # Dial said RINGING or PROGRESS for our leg (the far end was reached)

    def observe(self, event: AriEvent) -> None:
        match event:
            case StasisStart(channel=channel) if channel and channel.id == self.channel_id:
                self.answered = True
            case Dial(peer=peer, dialstatus=status) if peer and peer.id == self.channel_id and status:
                self.dialstatus = status
                self.rang = self.rang or status in ("RINGING", "PROGRESS")
            case ChannelDestroyed(channel=channel) if channel and channel.id == self.channel_id:
                self.cause = event.cause
                self.tech_cause = event.tech_cause
            case ChannelDestroyed(channel=channel) if channel and channel.id == self.callee_channel_id:
                self.callee_cause = event.cause


@dataclass(frozen=True, slots=True)
class Classification:
    outcome: CallOutcome
    q850_cause: int | None
    sip_code: int | None
    detail: str


def classify(seen: DialObservations) -> Classification:
    sip_code = seen.tech_cause if seen.tech_cause and 100 <= seen.tech_cause <= 699 else None
    cause = seen.cause or seen.callee_cause or None
    if seen.answered:
        return Classification(CallOutcome.ANSWERED, cause, sip_code, f"answered (cause {cause})")
    if seen.dialstatus in _DECISIVE_DIALSTATUS:
        outcome = DIALSTATUS_OUTCOMES[seen.dialstatus]
        cause = cause or _DIALSTATUS_CAUSES[seen.dialstatus]
        return Classification(outcome, cause, sip_code, f"{outcome.value} (Dial {seen.dialstatus}, cause {cause})")
    if cause == _NO_ANSWER and not seen.rang:
        outcome = CallOutcome.UNAVAILABLE  # 480 before any ringing: the callee cannot be reached
    elif cause in CAUSE_OUTCOMES:
        outcome = CAUSE_OUTCOMES[cause]
    else:
        outcome = DIALSTATUS_OUTCOMES.get(seen.dialstatus, CallOutcome.FAILED)
    shown = f"cause {cause}" if cause is not None else "no cause"
    status = f"Dial {seen.dialstatus}, " if seen.dialstatus else ""
    return Classification(outcome, cause, sip_code, f"{outcome.value} ({status}{shown})")
