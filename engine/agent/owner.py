"""The agent's side of the owner joining a call by voice (engine.ports.owner_voice).

Listening changes nothing for the agent. When the owner talks, the agent stops at once (its
audio is flushed like a barge-in, its response cancelled) and answers nothing while the owner
holds the call. It keeps hearing the callee, but not the owner: the call's bridge mixes the
owner into the line the agent hears, and a model hearing that mix takes the owner's words for
the callee's. So while the owner's microphone carries speech (and for `OWNER_ECHO_FRAMES` after,
the time the PBX may take to mix it in), the agent's model gets silence instead of the line; the
owner's words reach it as text from their own transcription (engine.agent.owner_words), as the
transcript's third speaker. On hand back, once the owner's last words are transcribed, it is told
the owner spoke for it and asked to go on. Each move is in the call's timeline (the telephony
adapter records it) and in the transcript as a `system` line.
"""

from __future__ import annotations

from engine.agent import levels
from engine.agent.cut_off import cut_agent_audio
from engine.agent.live_call import LiveCall
from engine.agent.owner_words import OwnerWords
from engine.ports.agent import TranscriptTurn
from engine.ports.owner_voice import OwnerAudio, OwnerChanged
from engine.ports.telephony import AudioFormat

HANDED_BACK = (
    "The person you are calling for (your user) just spoke to the callee directly for {seconds:.0f} s "
    "while you were muted; what they said is in the conversation above, and you heard the callee. "
    "They handed the call back to you: take what was said and agreed into account, do not repeat it, "
    "and continue toward the objective."
)
NOTES = {
    "joined": "The owner joined the call (listening).",
    "talking": "The owner took the call over; the agent is muted.",
    "handed_back": "The owner handed the call back to the agent.",
    "left": "The owner left the call.",
}
OWNER_VOICED_RMS = 0.005  # about -46 dBFS: the owner's microphone (noise-suppressed by the browser) has speech
OWNER_ECHO_FRAMES = 25  # 500 ms of line after the owner's last voiced frame: their voice may still be in the mix


class OwnerVoice:
    """The agent's side of the owner's voice on one call (the call loop's OwnerChanged and OwnerAudio)."""

    def __init__(self, call: LiveCall) -> None:
        self._call = call
        self._words: OwnerWords | None = None  # the owner's own transcription, while they hold the call
        self._owner_in_line = 0  # line frames still to keep from the model: they may carry the owner's voice

    @property
    def holds(self) -> bool:
        """True while the owner has taken the call over: the agent must not answer."""
        return self._call.owner_holding

    def line_for_model(self, audio: bytes) -> bytes:
        """What the agent's model hears of this frame of the line: silence while it may carry the owner's voice."""
        if not self.holds or self._owner_in_line <= 0:
            return audio
        self._owner_in_line -= 1
        return levels.silence(len(audio), self._call.call.media.format)

    async def changed(self, event: OwnerChanged) -> None:
        call = self._call
        now = call.clock.now()
        await call.record_turn(TranscriptTurn("system", NOTES[event.move], now, now))
        if event.move == "talking":
            call.owner_holding = True
            await _silence_agent(call)
            self._words = OwnerWords(call)
            await self._words.open()
        elif event.move in ("handed_back", "left") and self.holds:
            call.owner_holding = False
            self._owner_in_line = 0
            words, self._words = self._words, None
            told = event.move == "handed_back"
            call.tasks.spawn(self._hand_back(words, event.talked_ms if told else None), "owner-hand-back")

    async def audio(self, event: OwnerAudio) -> None:
        """The owner's microphone (only while they talk): to their own transcription, and it gates the line."""
        if self._words is not None:
            await self._words.push(event.audio)
        if levels.rms(event.audio, AudioFormat.ULAW) >= OWNER_VOICED_RMS:
            self._owner_in_line = OWNER_ECHO_FRAMES

    async def _hand_back(self, words: OwnerWords | None, talked_ms: int | None) -> None:
        """The owner's last words into the agent's context first, then (on hand back) the agent goes on."""
        if words is not None:
            await words.finish()
        call = self._call
        if talked_ms is not None and not call.status.over:
            await call.link.add_context(HANDED_BACK.format(seconds=talked_ms / 1000))
            await call.link.create_response()


async def _silence_agent(call: LiveCall) -> None:
    link = call.link
    if link.active_response is not None:
        link.cancelled.add(link.active_response)
        if link.session is not None:
            await link.session.cancel_response(link.active_response)
    await cut_agent_audio(call)
