"""Recordings on the PBX simulator, held to the bridge-recording trace and the ARI spec.

The PBX keeps a recording in its own storage; the engine reaches it only over ARI:
`GET /recordings/stored`, `GET /recordings/stored/{name}/file` (the name's '/' sent as %2F,
as real Asterisk wants it) and `DELETE /recordings/stored/{name}`.
"""

from __future__ import annotations

import asyncio
import io
import struct
import uuid
import wave

import numpy as np
import pytest

from ari_apps.events_socket import EventsSocket
from ari_apps.g711 import pcm16_to_ulaw
from ari_apps.rest_client import AriError
from ari_apps.wire_events import AriEvent
from engine.ports.telephony import DialRequest, MarkPlayed, RecordingUnavailable

from .fakes import collect_until
from .traces import load_trace


class Events:
    """Every event on the app's socket, in order, and a way to wait for one."""

    def __init__(self) -> None:
        self.types: list[str] = []
        self.raw: list[dict] = []
        self._arrived = asyncio.Condition()

    def __call__(self, raw: dict, event: AriEvent) -> None:
        self.types.append(raw["type"])
        self.raw.append(raw)
        asyncio.get_running_loop().create_task(self._notify(), name="test-events-notify")

    async def _notify(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    async def wait_for(self, kind: str, timeout: float = 5.0) -> dict:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: kind in self.types), timeout)
        return self.raw[self.types.index(kind)]


async def _nothing() -> None:
    return None


@pytest.fixture
async def events(sim, rest, http):
    seen = Events()
    socket = EventsSocket(sim.ari_url, "opendeep", rest.auth_headers, http, seen, _nothing, lambda reason: None)
    socket.start()
    assert await socket.wait_up(5)
    yield seen
    await socket.close()


async def test_the_bridge_recording_trace_replays_with_its_events_in_order(sim, rest, events):
    """The trace's own requests: the recording is finished (and stored) as soon as the bridge is empty,
    before the bridge is deleted; then `GET /recordings/stored` lists it."""
    rows = [r for r in load_trace("bridge-recording") if r["kind"] in ("rest", "event")]
    call_id = next(r for r in rows if r["kind"] == "rest")["params"]["channelId"]
    for row in rows:
        if row["kind"] != "rest":
            continue
        path, params = row["path"].removeprefix("/ari"), row["params"]
        if row["method"] == "DELETE" and path.startswith("/bridges/"):
            # Asterisk had finished the recording when the last channel left the bridge.
            finished = await events.wait_for("RecordingFinished")
            assert finished["recording"]["name"] == f"calls/{call_id}"
            assert finished["recording"]["state"] == "done"
        if row["method"] == "POST" and path == "/bridges":
            await events.wait_for("StasisStart")
        reply = await rest.request(row["method"], path, params)
        if row["method"] == "GET":
            assert reply == row["response"]
    wanted = ("RecordingStarted", "ChannelDestroyed", "RecordingFinished", "BridgeDestroyed")
    await events.wait_for("BridgeDestroyed")
    seen = [t for t in events.types if t in wanted]
    recorded = [r["event"]["type"] for r in rows if r["kind"] == "event" and r["event"]["type"] in wanted]
    assert seen == recorded


async def test_a_stored_recording_is_the_bridged_audio_and_lives_on_the_pbx_until_deleted(sim, telephony):
    call_id = "0b5a4a1e-5f0e-4f57-9a53-7a1e7c1b8c01"
    # A real PBX keeps other recordings too (callee-record's and the machines' MixMonitor files): only ours counts.
    others = [r for r in await telephony._rest.list_stored_recordings() if r["name"] != f"calls/{call_id}"]
    call = await telephony.originate(DialRequest(call_id, "Local/s@callee-talker/n", record=True))
    assert await call.answered() is True
    tone = (np.sin(2 * np.pi * 1000 * np.arange(8000) / 8000) * 8000).astype("<i2")  # 1 s at 1 kHz, 8 kHz PCM
    await call.media.send_audio(pcm16_to_ulaw(tone.tobytes()))
    await call.media.mark("sent")
    await collect_until(call.media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen))
    await call.hangup()
    result = await call.finished()
    name = f"calls/{call_id}"
    assert result.recording == name
    rest = telephony._rest  # the adapter's own client: the same requests the engine makes

    assert [r for r in await rest.list_stored_recordings() if r not in others] == [{"name": name, "format": "wav"}]
    assert await rest.request("GET", f"/recordings/stored/calls%2F{call_id}") == {"name": name, "format": "wav"}
    with pytest.raises(AriError) as unencoded:  # Asterisk splits the path before decoding: '/' must be %2F
        await rest.request("GET", f"/recordings/stored/{name}/file", raw=True)
    assert unencoded.value.status == 404

    data = await telephony.fetch_recording(name)
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm))
    freqs = np.fft.rfftfreq(pcm.size, 1 / 8000)
    at_1k = spectrum[(freqs > 990) & (freqs < 1010)].max()
    assert at_1k > 20 * np.median(spectrum)  # our tone is in it
    callee_band = spectrum[(freqs > 100) & (freqs < 900)]
    assert callee_band.max() > 20 * np.median(spectrum)  # and so is the talker's voice

    await telephony.delete_recording(name)
    assert [r for r in await rest.list_stored_recordings() if r not in others] == []
    with pytest.raises(RecordingUnavailable, match="404"):
        await telephony.fetch_recording(name)
    with pytest.raises(RecordingUnavailable, match="404"):
        await telephony.delete_recording(name)


async def test_a_call_is_finished_only_once_its_recording_is_closed(target, telephony):
    """Asterisk's recorder closes the WAV file, filling in its header, only after the bridge is empty and
    our leg destroyed (bridge-recording trace: RecordingFinished comes last), later still on a slow disk;
    meanwhile the file is readable with format_wav's zero sizes. So the call's result waits for
    RecordingFinished, or the engine would store a recording that says it holds no audio."""
    if target.sim is not None:
        target.sim.pbx.config.recording_close_s = 0.5  # a slow disk
    call = await telephony.originate(DialRequest(str(uuid.uuid4()), "Local/s@callee-talker/n", record=True))
    assert await call.answered() is True
    tone = (np.sin(2 * np.pi * 1000 * np.arange(8000) / 8000) * 8000).astype("<i2")
    await call.media.send_audio(pcm16_to_ulaw(tone.tobytes()))
    await call.media.mark("sent")
    await collect_until(call.media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen))
    await call.hangup()
    result = await call.finished()

    data = await telephony.fetch_recording(result.recording)
    riff_size, data_size = struct.unpack_from("<I", data, 4)[0], struct.unpack_from("<I", data, 40)[0]
    assert (riff_size, data_size) == (len(data) - 8, len(data) - 44)
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert wav.getnframes() >= 8000  # at least our second of tone
    await telephony.delete_recording(result.recording)
