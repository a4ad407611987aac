"""The simulated PBX's state and call flows, shaped like the recorded traces.

Events go to the app's events socket if one is connected and are lost otherwise
(as on Asterisk). As on Asterisk, `DELETE /channels/{id}` returns before the channel
is torn down: its events follow the REST answer, so a test that awaited our hang-up
must wait for the teardown (`wait_until`) before it checks `leftovers()`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from .callee import CalleeSession
from .model import CAUSE_TEXT, SimBridge, SimChannel, event
from .personas import TEST_NUMBERS, Persona
from .sip_trunk import RING_TIMEOUT_SIP, trunk_failure
from .wav import wav_bytes

log = logging.getLogger(__name__)


@dataclass
class SimulatorConfig:
    users: dict[str, str] = field(default_factory=lambda: {"opendeep": "opendeep"})
    numbers: dict[str, str] = field(default_factory=lambda: dict(TEST_NUMBERS))
    default_persona: str = "talker"
    time_scale: float = 1.0  # multiplies ring times, persona pauses and timeouts
    machine_greeting_s: float = 4.0
    # What GET /asterisk/* and /endpoints report, and switches to make each start-up check fail.
    version: str = "23.2.0"
    modules_conf: str | None = None  # a modules.conf text; None: the shipped asterisk/modules.conf
    unloaded_modules: set[str] = field(default_factory=set)  # e.g. {"chan_pjsip"}: declined to load
    endpoints: dict[str, str] = field(default_factory=lambda: {"PJSIP/trunk": "online"})  # -> state
    # How long the recorder takes to close its file once the bridge is empty (a slow disk). Until then
    # the file is readable with format_wav's empty header, and RecordingFinished has not been sent.
    recording_close_s: float = 0.0


class SimError(Exception):
    def __init__(self, status: int, message: str, key: str = "message") -> None:
        super().__init__(message)
        self.status, self.message, self.key = status, message, key


class Pbx:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.channels: dict[str, SimChannel] = {}
        self.bridges: dict[str, SimBridge] = {}
        self.sessions: dict[str, CalleeSession] = {}  # by our channel id (ended ones kept)
        self.callee_legs: dict[str, str] = {}  # our channel id -> Local ;2 channel id
        self.stored_recordings: dict[str, bytes] = {}
        self.live_recordings: dict[str, bytearray] = {}  # name -> 8 kHz PCM being recorded
        self.senders: dict[str, Callable[[dict[str, Any]], None]] = {}  # app -> events socket
        self.media_links: dict[str, Any] = {}  # media channel id -> its MediaLink
        self.answered: dict[str, CalleeSession] = {}  # live answered calls, by our channel id
        self.served: set[CalleeSession] = set()  # sessions a media channel handled this tick
        self.lost_events = 0
        # What went out, in order, like a trace's rows: ("rest", method, path, status) once a REST
        # reply is written, ("event", type, channel id) when an event is sent. The latest 10,000.
        self.wire: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=10_000)
        self.muted_in: set[str] = set()  # channels whose audio is suppressed before the bridge (POST .../mute)
        self.bridge_mixes: dict[str, Any] = {}  # bridge id -> bridge_mix.BridgeMix, for bridges of 2+ media channels
        self.tick_count = 0
        self.changed = asyncio.Condition()
        self._tasks: dict[str, set[asyncio.Task[Any]]] = {}

    # --- plumbing -------------------------------------------------------------

    def emit(self, app: str, kind: str, **fields: Any) -> None:
        send = self.senders.get(app)
        if send is None:
            self.lost_events += 1
        else:
            sent = event(kind, app, **fields)
            self.wire.append(("event", kind, (sent.get("channel") or sent.get("peer") or {}).get("id", "")))
            send(sent)

    def spawn(self, owner: str, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        tasks = self._tasks.setdefault(owner, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def cancel_tasks(self, owner: str) -> None:
        for task in self._tasks.pop(owner, set()):
            if task is not asyncio.current_task():
                task.cancel()

    async def close(self) -> None:
        tasks = [t for owned in self._tasks.values() for t in owned]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def leftovers(self) -> dict[str, list[str]]:
        return {"channels": sorted(self.channels), "bridges": sorted(self.bridges)}

    def channel(self, channel_id: str) -> SimChannel:
        ch = self.channels.get(channel_id)
        if ch is None:
            raise SimError(404, "Channel not found")
        return ch

    # --- dialling ---------------------------------------------------------------

    async def dial(self, ours: SimChannel, persona: Persona, timeout_s: int, args: list[str]) -> None:
        """What happens after an originate: the Dial events, then the outcome."""
        callee = self.channels.get(self.callee_legs.get(ours.id, ""))
        app = ours.app
        self.emit(app, "Dial", peer=ours.to_json(), dialstatus="", forward="", dialstring=ours.name)
        if persona.early_media_s > 0:
            # 183 Session Progress: our leg stays Down, only Dial says PROGRESS; the announcement
            # plays as early media and the failure comes after it.
            self.emit(app, "Dial", peer=ours.to_json(), dialstatus="PROGRESS", forward="", dialstring=ours.name)
            if 0 < timeout_s < persona.early_media_s:  # our originate timeout runs out first
                await asyncio.sleep(timeout_s * self.config.time_scale)
                return await self._ring_timeout(ours, callee, persona)
            await asyncio.sleep(persona.early_media_s * self.config.time_scale)
            return await self._fail(ours, callee, persona, persona.cause, final_dialstatus=persona.dialstatus)
        never_answers = persona.dialstatus == "RINGING"
        if never_answers or persona.ring_s > 0:
            self._set_state(ours, "Ringing")
            self.emit(app, "Dial", peer=ours.to_json(), dialstatus="RINGING", forward="", dialstring=ours.name)
            if never_answers or 0 < timeout_s < persona.ring_s:
                await asyncio.sleep(timeout_s * self.config.time_scale)
                # The ring timeout: cause 19 and no final Dial NOANSWER.
                return await self._ring_timeout(ours, callee, persona)
            await asyncio.sleep(persona.ring_s * self.config.time_scale)
        if persona.dialstatus is None:
            return await self._answer(ours, callee, persona, args)
        return await self._fail(ours, callee, persona, persona.cause, final_dialstatus=persona.dialstatus)

    async def _ring_timeout(self, ours: SimChannel, callee: SimChannel | None, persona: Persona) -> None:
        if callee is not None:
            return await self._fail(ours, callee, persona, 19, final_dialstatus=None)
        # Through a trunk (traces/pjsip-no-answer): no hang-up request, no final Dial, 19 with 480.
        await self.destroy(ours, 19, tech_cause=RING_TIMEOUT_SIP)

    async def _answer(self, ours: SimChannel, callee: SimChannel | None, persona: Persona, args: list[str]) -> None:
        app = ours.app
        if callee:
            self._set_state(callee, "Up")
        self._set_state(ours, "Up")
        self.emit(app, "Dial", peer=ours.to_json(), dialstatus="ANSWER", forward="", dialstring=ours.name)
        if app not in self.senders:
            # Asterisk: "Stasis app not active": the answered call is hung up at once.
            log.info("simulator: app %s not connected when %s answered; hanging up", app, ours.id)
            await self.destroy(ours, 16)
            return
        ours.in_stasis, ours.app_name, ours.app_data = True, "Stasis", ",".join([app, *args])
        self.emit(app, "StasisStart", args=args, channel=ours.to_json())
        session = self.sessions[ours.id]
        self.answered[ours.id] = session
        await self.notify()
        if persona.script is not None:
            await persona.script(session)

    async def _fail(
        self, ours: SimChannel, callee: SimChannel | None, persona: Persona, cause: int, final_dialstatus: str | None
    ) -> None:
        app = ours.app
        if callee is not None:
            # Local channel: the callee half carries the true cause, ours says 0 on busy/congestion.
            if final_dialstatus in ("BUSY", "CONGESTION"):
                self._set_state(callee, "Busy")
                self.emit(app, "Dial", peer=ours.to_json(), dialstatus=final_dialstatus, forward="", dialstring=ours.name)
                await self.destroy(callee, cause, request_cause=0)
                await self.destroy(ours, 0)
                return
            if final_dialstatus is not None:
                await self.destroy(callee, cause, request_cause=cause)
                self.emit(app, "Dial", peer=ours.to_json(), dialstatus=final_dialstatus, forward="", dialstring=ours.name)
                await self.destroy(ours, cause)
                return
            await self.destroy(callee, cause, request_cause=cause)
            await self.destroy(ours, cause)
            return
        # A SIP trunk (traces/pjsip-*): the carrier's cause comes back as a SIP code on our own leg.
        sip, our_cause, dialstatus = trunk_failure(cause)
        self.emit(app, "ChannelHangupRequest", cause=our_cause, tech_cause=sip, channel=ours.to_json())
        self.emit(app, "Dial", peer=ours.to_json(), dialstatus=dialstatus, forward="", dialstring=ours.name)
        await self.destroy(ours, our_cause, tech_cause=sip)

    # --- hang-ups -----------------------------------------------------------------

    async def destroy(
        self,
        ch: SimChannel,
        cause: int,
        *,
        request_cause: int | None = None,
        soft: bool | None = None,
        tech_cause: int | None = None,
    ) -> None:
        """Hang one channel up with the events Asterisk sends, then forget it."""
        if ch.destroyed:
            return
        ch.destroyed = True
        app = ch.app
        extra = {"tech_cause": tech_cause} if tech_cause is not None else {}
        if request_cause is not None:
            soft_field = {"soft": True} if soft else {}
            self.emit(app, "ChannelHangupRequest", cause=request_cause, **soft_field, **extra, channel=ch.to_json())
        bridge = self.bridges.get(ch.bridge_id or "")
        if bridge is not None and ch.id in bridge.channels:
            bridge.channels.remove(ch.id)
            self.emit(app, "ChannelLeftBridge", bridge=bridge.to_json(), channel=ch.to_json())
        if ch.in_stasis:
            self.emit(app, "StasisEnd", channel=ch.to_json())
        self.emit(
            app, "ChannelDestroyed", cause=cause, cause_txt=CAUSE_TEXT.get(cause, "Unknown"), **extra, channel=ch.to_json()
        )
        self.channels.pop(ch.id, None)
        self.muted_in.discard(ch.id)
        self.answered.pop(ch.id, None)
        self.cancel_tasks(ch.id)
        link = self.media_links.pop(ch.id, None)
        if link is not None:
            await link.close(1000)
        callee = self.channels.get(self.callee_legs.get(ch.id, ""))
        if callee is not None:
            await self.destroy(callee, 16 if cause in (0, 16, 32) else cause, request_cause=16, soft=True)
        if bridge is not None:
            self.finish_if_empty(bridge, app)
        await self.notify()

    async def agent_hangup(self, ch: SimChannel, cause: int) -> None:
        """DELETE /channels/{id} (our leg or a media channel)."""
        await self.destroy(ch, cause, request_cause=32, soft=True)

    async def callee_hangup(self, our_id: str, cause: int) -> None:
        ours = self.channels.get(our_id)
        if ours is None:
            return
        callee = self.channels.get(self.callee_legs.get(our_id, ""))
        if callee is not None:
            self.emit(callee.app, "ChannelHangupRequest", cause=cause, soft=True, channel=callee.to_json())
            self.emit(ours.app, "ChannelHangupRequest", cause=cause, channel=ours.to_json())
            callee.destroyed = True
            self.emit(
                callee.app, "ChannelDestroyed", cause=cause, cause_txt=CAUSE_TEXT.get(cause, ""), channel=callee.to_json()
            )
            self.channels.pop(callee.id, None)
            await self.destroy(ours, cause)
        else:
            await self.destroy(ours, cause, request_cause=cause)

    async def callee_dtmf(self, our_id: str, digit: str) -> None:
        ours = self.channels.get(our_id)
        if ours is None:
            return
        self.emit(ours.app, "ChannelDtmfReceived", digit=digit, duration_ms=100, channel=ours.to_json())
        bridge = self.bridges.get(ours.bridge_id or "")
        for channel_id in list(bridge.channels) if bridge else []:
            link = self.media_links.get(channel_id)
            if link is not None:
                link.queue_dtmf(digit)

    def _set_state(self, ch: SimChannel, state: str) -> None:
        ch.state = state
        self.emit(ch.app, "ChannelStateChange", channel=ch.to_json())

    # --- bridges ------------------------------------------------------------------

    def session_in_bridge(self, bridge_id: str | None) -> CalleeSession | None:
        bridge = self.bridges.get(bridge_id or "")
        if bridge is None:
            return None
        for channel_id in bridge.channels:
            session = self.sessions.get(channel_id)
            if session is not None and channel_id in self.channels:
                return session
        return None

    def add_to_bridge(self, bridge: SimBridge, ch: SimChannel) -> None:
        if ch.bridge_id and ch.bridge_id != bridge.id:
            old = self.bridges.get(ch.bridge_id)
            if old is not None and ch.id in old.channels:
                old.channels.remove(ch.id)
                self.emit(ch.app, "ChannelLeftBridge", bridge=old.to_json(), channel=ch.to_json())
                self.finish_if_empty(old, ch.app)
        if ch.id not in bridge.channels:
            bridge.channels.append(ch.id)
        ch.bridge_id = bridge.id
        self.emit(ch.app, "ChannelEnteredBridge", bridge=bridge.to_json(), channel=ch.to_json())
        link = self.media_links.get(ch.id)
        session = self.session_in_bridge(bridge.id)
        if link is not None and session is not None:
            session.fmt = link.fmt

    def remove_from_bridge(self, bridge: SimBridge, ch: SimChannel) -> None:
        bridge.channels.remove(ch.id)
        ch.bridge_id = None
        self.emit(ch.app, "ChannelLeftBridge", bridge=bridge.to_json(), channel=ch.to_json())
        self.finish_if_empty(bridge, ch.app)

    async def destroy_bridge(self, bridge: SimBridge, app: str) -> None:
        for channel_id in list(bridge.channels):
            ch = self.channels.get(channel_id)
            if ch is not None:
                self.remove_from_bridge(bridge, ch)
        self.finish_recording(bridge, app)
        self.bridges.pop(bridge.id, None)
        self.bridge_mixes.pop(bridge.id, None)
        self.emit(app, "BridgeDestroyed", bridge=bridge.to_json())
        await self.notify()

    def finish_if_empty(self, bridge: SimBridge, app: str) -> None:
        """The Recorder channel is "lonely" (AST_BRIDGE_CHANNEL_FLAG_LONELY): alone in the bridge, it leaves,
        and the recording is finished and stored at once, before anyone deletes the bridge (bridge-recording trace)."""
        if not bridge.channels:
            self.finish_recording(bridge, app)

    def finish_recording(self, bridge: SimBridge, app: str) -> None:
        """The recorder leaves the bridge (no more audio); it closes its file now, or after `recording_close_s`."""
        name = bridge.recording
        if name is None:
            return
        bridge.recording = None
        target = f"bridge:{bridge.id}"
        if self.config.recording_close_s <= 0:
            self.close_recording(name, target, app)
            return

        async def close_later() -> None:
            await asyncio.sleep(self.config.recording_close_s)
            self.close_recording(name, target, app)

        self.spawn(f"recording:{name}", close_later(), name=f"sim-recording-close-{name}")

    def close_recording(self, name: str, target_uri: str, app: str) -> None:
        """format_wav fills in the header on close; then the file is stored and RecordingFinished sent."""
        pcm = self.live_recordings.pop(name, None)
        if pcm is not None:  # None: its file was deleted while it was being written
            self.stored_recordings[name] = wav_bytes(bytes(pcm), 8000)
        recording = {"name": name, "format": "wav", "state": "done", "target_uri": target_uri,
                     "duration": len(pcm or b"") // 16000}
        self.emit(app, "RecordingFinished", recording=recording)

    def recording_file(self, name: str) -> bytes | None:
        """A recording's file as `GET /recordings/stored/{name}/file` reads it: a recording still open is
        on disk already, with the zero sizes format_wav writes until it closes the file."""
        if name in self.stored_recordings:
            return self.stored_recordings[name]
        if name in self.live_recordings:
            return wav_bytes(bytes(self.live_recordings[name]), 8000, sizes_known=False)
        return None

    # --- media channels -----------------------------------------------------------

    async def media_connected(self, link: Any) -> None:
        ch = self.channels.get(link.channel_id)
        if ch is None:
            return
        self._set_state(ch, "Up")
        self.emit(ch.app, "Dial", peer=ch.to_json(), dialstatus="ANSWER", forward="", dialstring=ch.name)
        ch.in_stasis, ch.app_name, ch.app_data = True, "Stasis", ",".join([ch.app, *link.args])
        self.emit(ch.app, "StasisStart", args=link.args, channel=ch.to_json())
        await self.notify()

    async def media_socket_closed(self, link: Any, code: int) -> None:
        ch = self.channels.get(link.channel_id)
        if ch is not None:
            cause = 16 if code == 1000 else 38
            await self.destroy(ch, cause, request_cause=cause, tech_cause=code)

    async def media_hangup_command(self, link: Any) -> None:
        ch = self.channels.get(link.channel_id)
        if ch is not None:
            await self.destroy(ch, 16, request_cause=16, tech_cause=1000)
