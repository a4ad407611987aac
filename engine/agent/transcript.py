"""Builds transcript turns from voice events and hands finished ones to the recorder.

A turn is recorded once both its text and its end are known: agent turns end
when their audio has played (or was cut off by the callee), callee turns when
the model noticed the speech stop. The record is honest: an agent turn the
callee cut off keeps about the words that were played (the played share of the
item's audio, at a word boundary); a callee turn whose words could not be
transcribed, or whose transcript never came, keeps a marker and `inaudible`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from engine.ports.agent import TranscriptTurn

SUMMARY_TURNS = 30
TRANSCRIPTION_FAILED = "[inaudible: transcription failed]"
NO_TRANSCRIPT = "[inaudible: no transcript]"


def heard_words(text: str, share: float) -> str:
    """The first `share` of `text`, without a word cut in half."""
    if share >= 1:
        return text
    cut = int(len(text) * max(share, 0.0))
    head = text[:cut]
    if cut < len(text) and not text[cut].isspace() and head and not head[-1].isspace():
        words = head.split()
        head = head[: len(head) - len(words[-1])]
    return head.rstrip()


@dataclass(slots=True)
class _Open:
    speaker: Literal["agent", "callee"]
    started_at: datetime
    text: str | None = None
    ended_at: datetime | None = None
    truncated: bool = False
    heard_share: float = 1.0  # of the agent's item, when the callee cut it off
    inaudible: bool = False


class TranscriptLog:
    def __init__(self, sink: Callable[[TranscriptTurn], Awaitable[None]], *, expect_callee_text: bool) -> None:
        self.turns: list[TranscriptTurn] = []
        self._sink = sink
        self._expect_callee_text = expect_callee_text
        self._open: dict[str, _Open] = {}

    def is_open(self, item_id: str) -> bool:
        return item_id in self._open

    async def agent_started(self, item_id: str, at: datetime) -> None:
        self._open.setdefault(item_id, _Open("agent", at))

    async def agent_text(self, item_id: str, text: str, at: datetime) -> None:
        await self._update(item_id, "agent", at, text=text)

    async def agent_ended(self, item_id: str, at: datetime, truncated: bool = False, heard_share: float = 1.0) -> None:
        """The agent's item stopped playing; cut off by the callee after `heard_share` of its audio."""
        turn = self._open.get(item_id)
        if turn is not None and turn.ended_at is None:
            turn.ended_at, turn.truncated = at, truncated
            turn.heard_share = heard_share if truncated else 1.0
            await self._maybe_record(item_id)

    async def callee_started(self, item_id: str, at: datetime) -> None:
        self._open.setdefault(item_id, _Open("callee", at))

    async def callee_stopped(self, item_id: str, at: datetime) -> None:
        turn = self._open.get(item_id)
        if turn is not None:
            turn.ended_at = at
            if not self._expect_callee_text:
                turn.text = turn.text or ""
            await self._maybe_record(item_id)

    async def callee_text(self, item_id: str, text: str, at: datetime) -> None:
        if not text.strip():  # transcribed as no words at all: the callee was heard, not understood
            turn = self._open.setdefault(item_id, _Open("callee", at))
            turn.text, turn.inaudible = NO_TRANSCRIPT, True
            await self._maybe_record(item_id)
            return
        await self._update(item_id, "callee", at, text=text)

    async def callee_text_failed(self, item_id: str, at: datetime) -> None:
        turn = self._open.setdefault(item_id, _Open("callee", at))
        if turn.text is None:
            turn.text, turn.inaudible = TRANSCRIPTION_FAILED, True
            await self._maybe_record(item_id)

    async def _update(self, item_id: str, speaker: Literal["agent", "callee"], at: datetime, *, text: str) -> None:
        turn = self._open.setdefault(item_id, _Open(speaker, at))
        turn.text = text
        await self._maybe_record(item_id)

    async def _maybe_record(self, item_id: str) -> None:
        turn = self._open[item_id]
        if turn.text is not None and turn.ended_at is not None:
            del self._open[item_id]
            await self._emit(turn)

    async def close(self, at: datetime) -> None:
        """Record what is still open at the end of the call."""
        for item_id in list(self._open):
            turn = self._open.pop(item_id)
            if turn.speaker == "callee" and turn.text is None:
                turn.text, turn.inaudible = NO_TRANSCRIPT, True  # the callee spoke; no words ever came
            if turn.text:
                turn.ended_at = turn.ended_at or at
                await self._emit(turn)

    async def _emit(self, turn: _Open) -> None:
        assert turn.ended_at is not None and turn.text is not None
        text = heard_words(turn.text, turn.heard_share) if turn.truncated else turn.text
        if turn.truncated and turn.speaker == "agent" and not text:
            return  # cut off before a whole word was heard
        recorded = TranscriptTurn(turn.speaker, text, turn.started_at, turn.ended_at, turn.truncated, turn.inaudible)
        self.turns.append(recorded)
        await self._sink(recorded)

    def summary(self) -> str:
        """The conversation so far as plain lines, for a fresh model session."""
        lines = [(t.started_at, t.speaker, t.text, t.truncated) for t in self.turns]
        lines += [(t.started_at, t.speaker, t.text, t.truncated) for t in self._open.values() if t.text]
        lines.sort(key=lambda line: line[0])
        rendered = [
            f"{'Agent' if speaker == 'agent' else 'Callee'}: {text}{' (interrupted)' if cut else ''}"
            for _, speaker, text, cut in lines[-SUMMARY_TURNS:]
        ]
        return "\n".join(rendered) if rendered else "(nothing was said yet)"
