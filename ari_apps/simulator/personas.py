"""Simulated callees, and which dialled endpoint reaches which.

Dialling `Local/s@callee-<persona>/n` reaches the persona of that name, like the
dialplan contexts of `asterisk/extensions.conf` on a real Asterisk. Dialling
`PJSIP/<number>@<trunk>` (the production endpoint template) or
`Local/<number>@callee-numbers/n` (its context in extensions.conf) looks the
number up in `TEST_NUMBERS`; any other number reaches
`SimulatorConfig.default_persona`.

| persona | number | what happens |
|---|---|---|
| echo | +12025550100 | answers, says a short prompt, then echoes what it hears |
| talker | +12025550101 | answers, greets, replies after each thing the agent says |
| busy | +12025550102 | busy: Dial BUSY, cause 17 (SIP 486) |
| congestion | +12025550103 | congestion: Dial CONGESTION, cause 34 (SIP 503) |
| noanswer | +12025550104 | rings until the originate timeout: cause 19, no final Dial NOANSWER |
| unallocated | +12025550105 | number does not exist: cause 1 (SIP 404), Dial NOANSWER |
| rejected | +12025550106 | rings, then declines: cause 21 (SIP 403 through a trunk), Dial NOANSWER |
| unavailable | +12025550107 | unreachable: cause 20, Dial CHANUNAVAIL (through a trunk: SIP 480, cause 19, never rang) |
| answer-play-hangup | +12025550108 | answers, says a sentence, hangs up (cause 16) |
| ivr | +12025550109 | reads a menu, answers each digit it gets; 9 or # ends the call |
| machine | +12025550110 | answering machine: long greeting, beep, records until silence |
| silence-then-talk | +12025550111 | waits for the agent to be quiet 1.5 s, says a sentence, hangs up |
| dtmf | +12025550112 | answers, keys 1 2 3 #, then reads up to 4 digits |
| dtmf-echo | +12025550113 | says a prompt, keys 1 2 3 #, then echoes |
| record | +12025550114 | records what the agent says until 2 s of silence, hangs up |
| ring-then-busy | +12025550115 | rings 2 s, then busy (cause 17, SIP 486) |
| early-media-intercept | +12025550116 | early media (Dial PROGRESS) with "not in service", then cause 1 (SIP 404); never answers |
| answered-intercept | +12025550117 | **answers**, plays SIT tones and "not in service", hangs up (cause 16): only the audio says the number is dead |
| speaks-first | +12025550118 | answers and speaks at once (2 s), then echoes |
| silent | +12025550119 | answers and sends nothing at all (no frames, as chan_websocket), hangs up after 60 s |
| voicemail | +12025550120 | rings 1 s, answers, 4 s greeting, 1 kHz beep of 0.4 s, records until 3 s of silence |

Through `PJSIP/...@trunk` there is no callee leg: the cause arrives on our own leg,
turned into a SIP code and back as a real trunk does (`sip_trunk.py`), so `unavailable`
(the carrier's cause 20) arrives as SIP 480 and cause 19, `rejected` (21) as 403 and 21.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import audio
from .callee import CalleeSession, PersonaScript


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    # How the dial ends when the callee does not answer; None means it answers.
    dialstatus: str | None = None
    cause: int = 16  # the callee's (carrier's) hang-up cause
    ring_s: float = 0.0  # rings this long before its outcome (scaled by time_scale)
    early_media_s: float = 0.0  # Progress (183) with an announcement this long before its outcome
    script: PersonaScript | None = None


async def _echo(s: CalleeSession) -> None:
    s.say(audio.speech(0.6, seed=2), "hello")
    await s.until_said()
    s.echo = True
    s.log.append("echo")


async def _talker(s: CalleeSession) -> None:
    await s.wait(0.2)
    s.say(audio.speech(1.2, seed=3), "greeting")
    await s.until_said()
    turn = 0
    while True:
        await s.listen(until_silence_s=0.5, max_s=3600)
        turn += 1
        s.say(audio.speech(0.8, seed=10 + turn % 7), f"reply {turn}")
        await s.until_said()


async def _answer_play_hangup(s: CalleeSession) -> None:
    await s.wait(0.5)
    s.say(audio.speech(1.0, seed=4), "hello")
    await s.until_said()
    await s.hangup(16)


async def _ivr(s: CalleeSession) -> None:
    s.say(audio.speech(1.0, seed=5), "menu")
    while True:
        digit = await s.read_digit(timeout_s=30)
        if digit is None or digit in "9#":
            s.say(audio.speech(0.4, seed=6), "goodbye")
            await s.until_said()
            await s.hangup(16)
            return
        s.log.append(f"menu {digit}")
        s.say(audio.speech(0.6, seed=100 + ord(digit)), f"option {digit}")


async def _machine(s: CalleeSession) -> None:
    s.say(audio.speech(s.line.config.machine_greeting_s, seed=7), "greeting")
    s.say(audio.tone(1000, 0.4), "beep")
    await s.until_said()
    await s.listen(until_silence_s=3, max_s=30, keep=s.message, need_speech=False)
    s.log.append(f"recorded {len(s.message) // 16} ms")
    await s.hangup(16)


async def _silence_then_talk(s: CalleeSession) -> None:
    await s.listen(until_silence_s=1.5, max_s=20, need_speech=False)
    s.say(audio.speech(0.8, seed=8), "hello")
    await s.until_said()
    await s.hangup(16)


async def _dtmf(s: CalleeSession) -> None:
    await s.wait(1)
    await s.send_dtmf("123#")
    got = ""
    while len(got) < 4 and (digit := await s.read_digit(timeout_s=5)) is not None:
        got += digit
    s.log.append(f"read {got}")
    await s.wait(20)


async def _dtmf_echo(s: CalleeSession) -> None:
    s.say(audio.speech(0.6, seed=2), "hello")
    await s.until_said()
    await s.send_dtmf("123#")
    s.echo = True


async def _answered_intercept(s: CalleeSession) -> None:
    s.say(audio.intercept(), "intercept")
    await s.until_said()
    await s.hangup(16)


# Prompts of the newer personas, as (seconds, seed) of `audio.speech`: scripts/provision-asterisk
# writes the same audio as sounds/<name>.wav for the contexts of asterisk/extensions.conf.
PROMPT_SPEECH: dict[str, tuple[float, int]] = {"speaks-first": (2.0, 31), "vm-greeting": (4.0, 32)}


def prompt(name: str) -> bytes:
    seconds, seed = PROMPT_SPEECH[name]
    return audio.speech(seconds, seed=seed)


def voicemail_beep() -> bytes:
    return audio.tone(1000, 0.4)


async def _speaks_first(s: CalleeSession) -> None:
    s.say(prompt("speaks-first"), "greeting")
    await s.until_said()
    s.echo = True
    s.log.append("echo")


async def _silent(s: CalleeSession) -> None:
    await s.wait(60)
    await s.hangup(16)


async def _voicemail(s: CalleeSession) -> None:
    s.say(prompt("vm-greeting"), "greeting")
    s.say(voicemail_beep(), "beep")
    await s.until_said()
    await s.listen(until_silence_s=3, max_s=30, keep=s.message, need_speech=False)
    s.log.append(f"recorded {len(s.message) // 16} ms")
    await s.hangup(16)


async def _record(s: CalleeSession) -> None:
    await s.listen(until_silence_s=2, max_s=20, keep=s.message)
    s.log.append(f"recorded {len(s.message) // 16} ms")
    await s.hangup(16)


PERSONAS: dict[str, Persona] = {
    p.name: p
    for p in (
        Persona("echo", script=_echo),
        Persona("talker", ring_s=0.3, script=_talker),
        Persona("busy", dialstatus="BUSY", cause=17),
        Persona("congestion", dialstatus="CONGESTION", cause=34),
        Persona("noanswer", dialstatus="RINGING", cause=19),
        Persona("unallocated", dialstatus="NOANSWER", cause=1),
        Persona("rejected", dialstatus="NOANSWER", cause=21, ring_s=0.2),
        Persona("unavailable", dialstatus="CHANUNAVAIL", cause=20),
        Persona("answer-play-hangup", script=_answer_play_hangup),
        Persona("ivr", script=_ivr),
        Persona("machine", ring_s=0.5, script=_machine),
        Persona("silence-then-talk", script=_silence_then_talk),
        Persona("dtmf", script=_dtmf),
        Persona("dtmf-echo", script=_dtmf_echo),
        Persona("record", script=_record),
        Persona("ring-then-busy", dialstatus="BUSY", cause=17, ring_s=2.0),
        Persona("early-media-intercept", dialstatus="NOANSWER", cause=1, early_media_s=7.2),
        Persona("answered-intercept", script=_answered_intercept),
        Persona("speaks-first", script=_speaks_first),
        Persona("silent", script=_silent),
        Persona("voicemail", ring_s=1.0, script=_voicemail),
    )
}

# 555-0100 to 555-0199 are reserved for fiction in every North American area code,
# and phonenumbers accepts them as valid, so tasks can be created for them.
TEST_NUMBER_PREFIX = "+120255501"
TEST_NUMBERS: dict[str, str] = {
    f"{TEST_NUMBER_PREFIX}{i:02d}": name for i, name in enumerate(PERSONAS)
}


NUMBERS_CONTEXT = "callee-numbers"


def persona_for_endpoint(
    endpoint: str, numbers: dict[str, str], default_persona: str
) -> tuple[str, str, Persona] | None:
    """(technology, resource, persona) for a dial string, or None if it cannot be dialled."""
    tech, _, resource = endpoint.partition("/")
    if not resource:
        return None
    if tech == "Local":
        exten, _, rest = resource.partition("@")
        context = rest.partition("/")[0]
        if context == NUMBERS_CONTEXT:  # asterisk/extensions.conf maps the test numbers here
            return tech, resource, PERSONAS[numbers.get(exten, default_persona)]
        persona = PERSONAS.get(context.removeprefix("callee-"))
        return (tech, resource, persona) if persona else None
    if tech == "PJSIP":
        number = resource.partition("@")[0]
        name = numbers.get(number, default_persona)
        return tech, resource, PERSONAS[name]
    return None
