"""Agent audio toward the callee, and how much of it has really been heard.

Audio goes to the media in whole 20 ms frames (chan_websocket drops a trailing
partial frame), each send followed by `media.mark()`. `MarkPlayed` confirms
playout; between marks, time elapsed since the last confirmation is counted
too, capped at what was sent. Barge-in asks `interrupt()` for the heard
position of the item being played.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

from engine.clock import Clock
from engine.ports.telephony import AudioFormat, MediaStream

_SILENCE = {AudioFormat.ULAW: b"\xff", AudioFormat.SLIN16: b"\x00"}


@dataclass(slots=True)
class ItemPlayback:
    response_id: str
    item_id: str
    sent_bytes: int = 0
    confirmed_bytes: int = 0
    model_ms: float = 0.0  # audio received from the model for this item
    complete: bool = False  # the model has sent all of it

    @property
    def unconfirmed_bytes(self) -> int:
        return self.sent_bytes - self.confirmed_bytes


@dataclass(frozen=True, slots=True)
class Interruption:
    response_id: str
    item_id: str
    played_ms: int  # on the model's item timeline, clamped to what the model sent
    model_ms: float


class Playout:
    def __init__(self, media: MediaStream, clock: Clock) -> None:
        self._media = media
        self._clock = clock
        self._format = media.format
        self._frame = media.format.frame_bytes
        self._bytes_per_ms = media.format.bytes_per_ms
        self._items: dict[str, ItemPlayback] = {}
        self._order: list[str] = []  # items with audio, in the order sent
        self._carry = b""
        self._carry_item: str | None = None
        self._marks: dict[str, tuple[str, int]] = {}  # mark name -> (item id, sent bytes at the mark)
        self._waiters: dict[str, asyncio.Future[bool]] = {}
        self._anchor = clock.monotonic()  # when the head of the queue started playing
        self._names = itertools.count(1)
        self._played_total_bytes = 0
        self._changed = asyncio.Condition()

    # --- sending ------------------------------------------------------------------

    async def send(self, response_id: str, item_id: str, audio: bytes, model_ms: float) -> None:
        item = self._items.get(item_id)
        if item is None:
            item = self._items[item_id] = ItemPlayback(response_id, item_id)
            self._order.append(item_id)
        item.model_ms += model_ms
        if self._carry_item not in (None, item_id):
            await self._pad_and_send(self._carry_item)
        data = self._carry + audio
        whole = len(data) - len(data) % self._frame
        self._carry, self._carry_item = data[whole:], item_id if data[whole:] else None
        if whole:
            await self._send_frames(item, data[:whole])

    async def finish(self, item_id: str) -> None:
        """The model sent all of this item: pad the tail to a frame and mark its end."""
        if item_id in self._items:
            self._items[item_id].complete = True
            await self._pad_and_send(item_id)

    async def mark_end(self) -> asyncio.Future[bool]:
        """A future resolved once everything sent so far has been played (True), or cut off by
        `interrupt()` (False)."""
        name = f"m{next(self._names)}"
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if not self.speaking:
            future.set_result(True)
            return future
        self._waiters[name] = future
        last = self._items[self._order[-1]]
        self._marks[name] = (last.item_id, last.sent_bytes)
        await self._media.mark(name)
        return future

    async def _pad_and_send(self, item_id: str | None) -> None:
        if self._carry and item_id is not None and self._carry_item == item_id:
            padded = self._carry + _SILENCE[self._format] * (self._frame - len(self._carry))
            self._carry, self._carry_item = b"", None
            await self._send_frames(self._items[item_id], padded)

    async def _send_frames(self, item: ItemPlayback, frames: bytes) -> None:
        if not self.speaking:
            self._anchor = self._clock.monotonic()
        item.sent_bytes += len(frames)
        await self._media.send_audio(frames)
        name = f"m{next(self._names)}"
        self._marks[name] = (item.item_id, item.sent_bytes)
        await self._media.mark(name)

    # --- playout feedback -----------------------------------------------------------

    async def on_mark_played(self, name: str) -> None:
        entry = self._marks.pop(name, None)
        if entry is not None:
            item_id, position = entry
            item = self._items[item_id]
            if position > item.confirmed_bytes:
                # A mark also confirms everything queued before it.
                earlier_items = self._order[: self._order.index(item_id)] if item_id in self._order else []
                for earlier in earlier_items:
                    self._confirm(self._items[earlier], self._items[earlier].sent_bytes)
                self._confirm(item, position)
                self._anchor = self._clock.monotonic()
        waiter = self._waiters.pop(name, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(True)
        async with self._changed:
            self._changed.notify_all()

    def _confirm(self, item: ItemPlayback, position: int) -> None:
        if position > item.confirmed_bytes:
            self._played_total_bytes += position - item.confirmed_bytes
            item.confirmed_bytes = position

    async def wait_played_ms(self, total_ms: float, timeout: float = 5.0) -> None:
        """Wait until marks confirmed `total_ms` of agent audio, over the whole call."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: self._played_total_bytes >= total_ms * self._bytes_per_ms), timeout
            )

    # --- state ------------------------------------------------------------------------

    @property
    def speaking(self) -> bool:
        """Audio is queued or playing at the callee's end."""
        return any(self._items[i].unconfirmed_bytes > 0 for i in self._order) or bool(self._carry)

    def played_ms(self, item_id: str) -> float:
        elapsed_ms = (self._clock.monotonic() - self._anchor) * 1000
        for other in self._order:
            item = self._items[other]
            unconfirmed_ms = item.unconfirmed_bytes / self._bytes_per_ms
            if other == item_id:
                return item.confirmed_bytes / self._bytes_per_ms + max(0.0, min(elapsed_ms, unconfirmed_ms))
            elapsed_ms -= unconfirmed_ms
        return 0.0

    def unplayed_ms(self) -> float:
        queued = sum(self._items[i].unconfirmed_bytes for i in self._order) + len(self._carry)
        return queued / self._bytes_per_ms

    def finished_items(self) -> list[str]:
        """Items now completely played, each reported once."""
        done = [i for i in self._order if self._items[i].complete and self._items[i].unconfirmed_bytes == 0]
        for item_id in done:
            self._order.remove(item_id)
        return done

    def item(self, item_id: str) -> ItemPlayback | None:
        return self._items.get(item_id)

    async def interrupt(self) -> Interruption | None:
        """Barge-in: drop queued audio and report how much of the current item was heard."""
        if not self.speaking:
            return None
        current = next((self._items[i] for i in self._order if self._items[i].unconfirmed_bytes > 0), None)
        if current is None:
            current = self._items[self._carry_item] if self._carry_item else None
        await self._media.flush()
        interruption = None
        if current is not None:
            heard = min(self.played_ms(current.item_id), current.model_ms)
            interruption = Interruption(current.response_id, current.item_id, int(heard), current.model_ms)
        for item_id in self._order:
            item = self._items[item_id]
            item.sent_bytes = item.confirmed_bytes  # flushed audio will never play
        self._carry, self._carry_item = b"", None
        self._marks.clear()
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_result(False)  # flushed: never played
        self._waiters.clear()
        return interruption
