"""The agent's side of the owner joining a call by voice (engine.ports.owner_voice).

Listening changes nothing for the agent. When the owner talks, the agent stops at once (its
audio is flushed like a barge-in, its response cancelled) and answers nothing while the owner
holds the call; it keeps hearing the line, so the conversation stays in its context. On hand
back it is told the owner spoke for it and asked to go on. Each move is in the call's timeline
(the telephony adapter records it) and in the transcript as a `system` line.
"""

from __future__ import annotations

from typing import Any

from engine.agent.owner_words import OwnerWords
from engine.ports.agent import TranscriptTurn
from engine.ports.owner_voice import OwnerAudio, OwnerChanged

HANDED_BACK = (
    "The person you are calling for (your user) just spoke to the callee directly for {seconds:.0f} s "
    "while you were muted; you heard that conversation. They handed the call back to you: take what "
    "was said and agreed into account, do not repeat it, and continue toward the objective."
)
NOTES = {
    "joined": "The owner joined the call (listening).",
    "talking": "The owner took the call over; the agent is muted.",
    "handed_back": "The owner handed the call back to the agent.",
    "left": "The owner left the call.",
}


def owner_holds(loop: Any) -> bool:
    """True while the owner has taken the call over: the agent must not answer."""
    return loop._call.owner_holding


async def on_owner_changed(loop: Any, event: OwnerChanged) -> None:
    """A CallLoop media handler (engine.agent.loop)."""
    call = loop._call
    now = call.clock.now()
    recorder = getattr(call, "recorder", None)
    if recorder is not None:
        await recorder.transcript_turn(call.call.call_id, TranscriptTurn("system", NOTES[event.move], now, now))
    if event.move == "talking":
        call.owner_holding = True
        await _silence_agent(call)
        loop.owner_words = OwnerWords(call)
        await loop.owner_words.open()
    elif event.move in ("handed_back", "left") and owner_holds(loop):
        call.owner_holding = False
        words, loop.owner_words = getattr(loop, "owner_words", None), None
        if words is not None:
            await words.close()
        if event.move == "handed_back" and not call.status.over:
            await call.link.add_context(HANDED_BACK.format(seconds=event.talked_ms / 1000))
            await call.link.create_response()


async def on_owner_audio(loop: Any, event: OwnerAudio) -> None:
    """A CallLoop media handler: the owner's microphone, to their own transcription."""
    words = getattr(loop, "owner_words", None)
    if words is not None:
        await words.push(event.audio)


async def _silence_agent(call: Any) -> None:
    link = call.link
    if link.active_response is not None:
        link.cancelled.add(link.active_response)
        if link.session is not None:
            await link.session.cancel_response()
    if call.playout is None or not call.playout.speaking:
        return
    cut = await call.playout.interrupt()
    if cut is None:
        return
    link.cancelled.add(cut.response_id)
    if cut.played_ms > 0 and link.session is not None:
        await link.session.truncate(cut.item_id, cut.played_ms)
    share = cut.played_ms / cut.model_ms if cut.model_ms else 0.0
    await call.transcript.agent_ended(cut.item_id, call.clock.now(), True, share)
