"""The owner's own voice on a live call: listen, talk (take over), hand back, leave.

A telephony adapter that can add the owner's browser to a live call implements
`OwnerLegs`; the web app relays the browser's audio to the `OwnerLeg` it returns.
The agent session learns what the owner does through `OwnerChanged`, delivered
in order with the call's media events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

from engine.ports.telephony import AudioFormat

OwnerMove = Literal["joined", "talking", "handed_back", "left"]


@dataclass(frozen=True, slots=True)
class OwnerChanged:
    """The owner joined (listening), took the call over, handed it back, or left."""

    move: OwnerMove
    talked_ms: int = 0  # on "handed_back": how long the owner held the call


@dataclass(frozen=True, slots=True)
class OwnerAudio:
    """20 ms of the owner's microphone that reached the call (only while the owner talks)."""

    audio: bytes


class OwnerLeg(Protocol):
    format: AudioFormat

    def audio(self) -> AsyncIterator[bytes]:
        """20 ms frames of what the call sounds like (callee and agent), until the leg ends."""

    async def send_audio(self, frame: bytes) -> None:
        """The owner's microphone; reaches the callee only while the owner talks."""

    async def talk(self) -> None: ...

    async def hand_back(self) -> None: ...

    async def leave(self) -> None:
        """Idempotent; hands back first if the owner was talking. Never ends the call."""


class OwnerLegs(Protocol):
    async def join_owner(self, call_id: str) -> OwnerLeg:
        """Add the owner's leg, listening, to the live call `call_id`. Raises LookupError if it is not live here."""
