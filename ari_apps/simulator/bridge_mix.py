"""A mixing bridge with more than one media channel (the agent's and an owner's), as softmix does.

Each member hears everyone but itself. A channel muted `in` (`POST /channels/{id}/mute?direction=in`)
sends nothing into the bridge; a chan_websocket channel whose app set `SET_MEDIA_DIRECTION in`
drops what the app sends. The callee hears one mix per 20 ms tick: the first media channel ticked
feeds it, and a member's frame reaches the others at its own tick or the next (one tick of delay
at most, each frame heard once).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import audio


class BridgeMix:
    """The per-bridge state of one tick: the callee's frame and each member's last frame (8 kHz PCM)."""

    def __init__(self) -> None:
        self.last: dict[str, bytes] = {}  # media channel id -> its last frame into the bridge
        self.callee_pcm: bytes | None = None  # the callee's frame of this tick
        self.served_tick = -1


def media_peers(pbx: Any, bridge_id: str | None) -> list[str]:
    bridge = pbx.bridges.get(bridge_id or "")
    if bridge is None:
        return []
    return [c for c in bridge.channels if c in pbx.media_links]


def exchange(link: Any, ch: Any, own_frame: bytes | None) -> bytes:
    """One tick of a media channel in a bridge with other media channels: what it receives."""
    pbx = link.pbx
    mix = pbx.bridge_mixes.setdefault(ch.bridge_id, BridgeMix())
    if own_frame is not None and ch.id in pbx.muted_in:
        own_frame = None  # suppressed before the bridge (control.c ast_channel_suppress)
    mix.last[ch.id] = audio.from_wire(own_frame, link.fmt) if own_frame is not None else audio.SILENT_FRAME
    peers = [c for c in media_peers(pbx, ch.bridge_id) if c != ch.id]
    session = pbx.session_in_bridge(ch.bridge_id)
    if session is not None and mix.served_tick != pbx.tick_count:
        mix.served_tick = pbx.tick_count
        into_callee = _mix([mix.last.get(c, audio.SILENT_FRAME) for c in [ch.id, *peers]])
        session.hear(audio.to_wire(into_callee, session.fmt) if not audio.is_silent(into_callee, 1.0) else None)
        frame = session.next_frame()
        mix.callee_pcm = audio.from_wire(frame, session.fmt) if frame is not None else audio.SILENT_FRAME
        pbx.served.add(session)
        bridge = pbx.bridges.get(ch.bridge_id or "")
        if bridge is not None and bridge.recording is not None:
            pbx.live_recordings.setdefault(bridge.recording, bytearray()).extend(_mix([into_callee, mix.callee_pcm]))
    heard = _mix([mix.callee_pcm or audio.SILENT_FRAME, *(mix.last.get(c, audio.SILENT_FRAME) for c in peers)])
    return audio.to_wire(heard, link.fmt)


def _mix(frames: list[bytes]) -> bytes:
    total = np.zeros(len(frames[0]) // 2, np.int32)
    for frame in frames:
        total += np.frombuffer(frame, "<i2").astype(np.int32)
    return np.clip(total, -32768, 32767).astype("<i2").tobytes()
