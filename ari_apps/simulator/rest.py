"""The simulator's ARI REST operations, keyed by (resource, Swagger nickname).

Requests reach these handlers only after `AriSpec.validate` accepted them. Each
returns (status, JSON body or raw bytes) or raises `SimError` with Asterisk's
own status and message (see traces/rest-errors.jsonl).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ..ari_spec import MatchedRequest
from .callee import CalleeSession
from .media import AudioSocketLink, WebSocketLink
from .model import SimBridge, SimChannel, local_channel_names, media_channel_name, pjsip_channel_name
from .pbx import Pbx, SimError
from .personas import persona_for_endpoint
from .rest_system import asterisk_info, endpoint_states, get_endpoint, get_module, list_endpoints, list_modules, ping

Reply = tuple[int, Any]


class AfterReply:
    """A reply with no body whose work happens once the HTTP response is out.

    Asterisk answers `DELETE /channels/{id}` with 204 before the channel is torn down:
    its ChannelHangupRequest ... ChannelDestroyed arrive after the REST call returned
    (traces/media-websocket-slin16 at t=5.555).
    """

    def __init__(self, work: Callable[[], Awaitable[None]]) -> None:
        self.work = work
Handler = Callable[[Pbx, MatchedRequest], Awaitable[Reply]]

HANGUP_CAUSES = {
    "normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 18, "rejected": 21,
    "unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28, "codec_mismatch": 58,
    "interworking": 127, "failure": 38, "answered_elsewhere": 26,
}  # fmt: skip
KNOWN_FORMATS = {"ulaw", "slin", "slin16"}


def _caller(caller_id: str) -> tuple[str, str]:
    if "<" in caller_id:
        name, _, rest = caller_id.partition("<")
        return name.strip().strip('"'), rest.rstrip(">").strip()
    return "", caller_id.strip()


async def originate(pbx: Pbx, req: MatchedRequest) -> Reply:
    p = req.params
    channel_id = req.path_params.get("channelId") or p.get("channelId") or str(uuid.uuid4())
    app = p.get("app")
    if not app and not p.get("extension"):
        raise SimError(400, "Application or extension must be specified")
    if not app:
        raise SimError(501, "Dialplan originate is not simulated; use app mode")
    target = persona_for_endpoint(p["endpoint"], pbx.config.numbers, pbx.config.default_persona)
    if target is None:
        raise SimError(500, "Allocation failed", key="error")
    other_id = p.get("otherChannelId") or f"{channel_id};2"
    if channel_id in pbx.channels or other_id in pbx.channels:
        raise SimError(409, "Channel with given unique ID already exists")
    tech, resource, persona = target
    if tech == "PJSIP" and not _pjsip_reachable(pbx, resource):
        raise SimError(500, "Allocation failed", key="error")
    name, number = _caller(p.get("callerId", ""))
    context = resource.partition("@")[2].partition("/")[0] if tech == "Local" else "from-trunk"
    if tech == "Local":
        our_name, callee_name = local_channel_names(context)
        callee = SimChannel(other_id, callee_name, app, state="Ring", caller_name=name, caller_number=number,
                            context=context, app_name="", app_data="")  # fmt: skip
        pbx.channels[other_id] = callee
        pbx.callee_legs[channel_id] = other_id
    else:
        our_name = pjsip_channel_name(resource)
    ours = SimChannel(channel_id, our_name, app, caller_name=name, caller_number=number, context=context)
    pbx.channels[channel_id] = ours
    pbx.sessions[channel_id] = CalleeSession(pbx, channel_id, persona.name)
    args = p["appArgs"].split(",") if p.get("appArgs") else []
    timeout = int(p.get("timeout", 30))
    pbx.spawn(channel_id, pbx.dial(ours, persona, timeout, args), name=f"sim-dial-{channel_id}")
    return 200, ours.to_json()


def _pjsip_reachable(pbx: Pbx, resource: str) -> bool:
    """chan_pjsip running, and the endpoint after `@` exists and is not offline (else no channel)."""
    endpoint = resource.partition("@")[2] or resource
    state = endpoint_states(pbx).get("PJSIP", {}).get(endpoint)
    return state is not None and state != "offline"


async def hangup(pbx: Pbx, req: MatchedRequest) -> Reply:
    ch = pbx.channel(req.path_params["channelId"])
    if "reason" in req.params and "reason_code" in req.params:
        raise SimError(400, "The reason and reason_code can't both be specified")
    if "reason_code" in req.params:
        cause = int(req.params["reason_code"])
    else:
        cause = HANGUP_CAUSES[req.params.get("reason", "normal")]
    return 204, AfterReply(lambda: pbx.agent_hangup(ch, cause))


async def get_channel(pbx: Pbx, req: MatchedRequest) -> Reply:
    return 200, pbx.channel(req.path_params["channelId"]).to_json()


async def list_channels(pbx: Pbx, req: MatchedRequest) -> Reply:
    return 200, [ch.to_json() for ch in pbx.channels.values()]


def _in_stasis(pbx: Pbx, channel_id: str) -> SimChannel:
    ch = pbx.channel(channel_id)
    if not ch.in_stasis:
        raise SimError(409, "Channel not in Stasis application")
    return ch


async def send_dtmf(pbx: Pbx, req: MatchedRequest) -> Reply:
    ch = _in_stasis(pbx, req.path_params["channelId"])
    session = pbx.sessions.get(ch.id)
    for digit in req.params["dtmf"]:
        if session is not None and digit in "0123456789*#ABCD":
            session.receive_digit(digit)
            callee = pbx.channels.get(pbx.callee_legs.get(ch.id, ""))
            if callee is not None:
                pbx.emit(callee.app, "ChannelDtmfReceived", digit=digit, duration_ms=100, channel=callee.to_json())
    return 204, None


async def get_variable(pbx: Pbx, req: MatchedRequest) -> Reply:
    ch = _in_stasis(pbx, req.path_params["channelId"])
    name = req.params["variable"]
    if name not in ch.variables:
        raise SimError(404, "Provided variable was not found")
    return 200, {"value": ch.variables[name]}


async def set_variable(pbx: Pbx, req: MatchedRequest) -> Reply:
    ch = _in_stasis(pbx, req.path_params["channelId"])
    ch.variables[req.params["variable"]] = req.params.get("value", "")
    return 204, None


async def mute(pbx: Pbx, req: MatchedRequest) -> Reply:
    """Only `direction=in` is modelled (the channel's audio never reaches the bridge); `out` is accepted."""
    if not req.params.get("direction"):
        raise SimError(400, "Direction is required")  # resource_channels.c, despite the spec's default
    ch = _in_stasis(pbx, req.path_params["channelId"])
    if req.params.get("direction") in ("in", "both"):
        pbx.muted_in.add(ch.id)
    return 204, None


async def unmute(pbx: Pbx, req: MatchedRequest) -> Reply:
    if not req.params.get("direction"):
        raise SimError(400, "Direction is required")
    ch = _in_stasis(pbx, req.path_params["channelId"])
    if req.params.get("direction") in ("in", "both"):
        pbx.muted_in.discard(ch.id)
    return 204, None


async def external_media(pbx: Pbx, req: MatchedRequest) -> Reply:
    p = req.params
    transport, encapsulation = p.get("transport", "udp"), p.get("encapsulation", "rtp")
    fmt = p["format"]
    if transport == "websocket" and encapsulation != "none":
        raise SimError(400, "encapsulation must be 'none' for websocket transport")
    if encapsulation == "audiosocket" and transport != "tcp":
        raise SimError(400, "transport must be 'tcp' for audiosocket encapsulation")
    if (transport, encapsulation) not in (("websocket", "none"), ("tcp", "audiosocket")):
        raise SimError(501, "The encapsulation and/or transport is not supported")
    if fmt not in KNOWN_FORMATS:
        raise SimError(400, "Provided format (%s) was not found" % fmt)
    channel_id = p.get("channelId") or str(uuid.uuid4())
    if channel_id in pbx.channels:
        raise SimError(409, "Channel with given unique ID already exists")
    app = p["app"]
    args = [p["data"]] if p.get("data") else []
    if transport == "websocket":
        if p.get("connection_type") != "server":
            raise SimError(501, "Only websocket server mode is simulated")
        connection_id = str(uuid.uuid4())
        link: Any = WebSocketLink(pbx, channel_id, fmt, connection_id, args)
        channelvars = {
            "MEDIA_WEBSOCKET_CONNECTION_ID": connection_id,
            "MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE": str(link.frame_bytes),
        }
        name = media_channel_name("websocket", "")
    else:
        host, _, port = p.get("external_host", "").rpartition(":")
        if not host or not port.isdigit():
            raise SimError(400, "external_host must be <host>:<port> for all transports other than websocket")
        if not p.get("data"):
            raise SimError(400, "data can not be empty")
        if fmt not in ("slin", "slin16"):
            raise SimError(501, "The simulator's AudioSocket only carries slin formats")
        link = AudioSocketLink(pbx, channel_id, fmt, host, int(port), p["data"])
        link.args = args
        channelvars = {"AUDIOSOCKET_SERVICE": p["external_host"], "AUDIOSOCKET_UUID": p["data"]}
        name = media_channel_name("audiosocket", f"{p['external_host']}-{p['data']}")
    ch = SimChannel(channel_id, name, app, channelvars=channelvars)
    pbx.channels[channel_id] = ch
    pbx.media_links[channel_id] = link
    pbx.emit(app, "Dial", peer=ch.to_json(), dialstatus="", forward="", dialstring=name)
    if isinstance(link, AudioSocketLink):
        try:
            await link.connect()
        except (OSError, TimeoutError):
            await pbx.destroy(ch, 38)
            raise SimError(500, "Failed to create external media channel") from None
        await pbx.media_connected(link)
    return 200, ch.to_json(with_vars=True)


# --- bridges -------------------------------------------------------------------


def _bridge(pbx: Pbx, bridge_id: str) -> SimBridge:
    bridge = pbx.bridges.get(bridge_id)
    if bridge is None:
        raise SimError(404, "Bridge not found")
    return bridge


async def create_bridge(pbx: Pbx, req: MatchedRequest) -> Reply:
    bridge_id = req.path_params.get("bridgeId") or req.params.get("bridgeId") or str(uuid.uuid4())
    if bridge_id in pbx.bridges:
        raise SimError(409, "Bridge with this id already exists")
    bridge = SimBridge(bridge_id, name=req.params.get("name", ""), bridge_type=req.params.get("type", "mixing"))
    pbx.bridges[bridge_id] = bridge
    return 200, bridge.to_json()


async def list_bridges(pbx: Pbx, req: MatchedRequest) -> Reply:
    return 200, [b.to_json() for b in pbx.bridges.values()]


async def get_bridge(pbx: Pbx, req: MatchedRequest) -> Reply:
    return 200, _bridge(pbx, req.path_params["bridgeId"]).to_json()


async def destroy_bridge(pbx: Pbx, req: MatchedRequest) -> Reply:
    bridge = _bridge(pbx, req.path_params["bridgeId"])
    app = next((pbx.channels[c].app for c in bridge.channels if c in pbx.channels), None)
    await pbx.destroy_bridge(bridge, app or _any_app(pbx))
    return 204, None


def _any_app(pbx: Pbx) -> str:
    return next(iter(pbx.senders), "")


async def add_channel(pbx: Pbx, req: MatchedRequest) -> Reply:
    bridge = _bridge(pbx, req.path_params["bridgeId"])
    ids = req.params["channel"].split(",")
    channels = [pbx.channels.get(i) for i in ids]
    if any(ch is None for ch in channels):
        raise SimError(400, "Channel not found")
    for ch in channels:
        if not ch.in_stasis:  # type: ignore[union-attr]
            raise SimError(422, "Channel not in Stasis application")
    for ch in channels:
        pbx.add_to_bridge(bridge, ch)  # type: ignore[arg-type]
    return 204, None


async def remove_channel(pbx: Pbx, req: MatchedRequest) -> Reply:
    bridge = _bridge(pbx, req.path_params["bridgeId"])
    ch = pbx.channels.get(req.params["channel"])
    if ch is None:
        raise SimError(400, "Channel not found")
    if ch.id not in bridge.channels:
        raise SimError(422, "Channel not in this bridge")
    pbx.remove_from_bridge(bridge, ch)
    return 204, None


async def record_bridge(pbx: Pbx, req: MatchedRequest) -> Reply:
    bridge = _bridge(pbx, req.path_params["bridgeId"])
    name, fmt = req.params["name"], req.params["format"]
    if fmt != "wav":
        raise SimError(422, "specified format is unknown on this system")
    if name in pbx.stored_recordings and req.params.get("ifExists", "fail") == "fail":
        raise SimError(409, f"Recording '{name}' already exists and can not be overwritten")
    bridge.recording = name
    pbx.live_recordings[name] = bytearray()
    recording = {"name": name, "format": fmt, "state": "queued", "target_uri": f"bridge:{bridge.id}"}
    app = next((pbx.channels[c].app for c in bridge.channels if c in pbx.channels), _any_app(pbx))
    pbx.emit(app, "RecordingStarted", recording={**recording, "state": "recording"})
    return 201, recording


# --- recordings, applications, asterisk ------------------------------------------


async def list_stored(pbx: Pbx, req: MatchedRequest) -> Reply:
    """The recordings directory: an open recording's file is there too (Asterisk lists the files it finds)."""
    return 200, [{"name": name, "format": "wav"} for name in sorted({*pbx.stored_recordings, *pbx.live_recordings})]


def _stored(pbx: Pbx, req: MatchedRequest) -> str:
    name = req.path_params["recordingName"]
    if pbx.recording_file(name) is None:
        raise SimError(404, "Recording not found")
    return name


async def get_stored(pbx: Pbx, req: MatchedRequest) -> Reply:
    return 200, {"name": _stored(pbx, req), "format": "wav"}


async def get_stored_file(pbx: Pbx, req: MatchedRequest) -> Reply:
    return 200, pbx.recording_file(_stored(pbx, req))


async def delete_stored(pbx: Pbx, req: MatchedRequest) -> Reply:
    """Unlinks the file; an open one is gone too once the recorder closes it."""
    name = _stored(pbx, req)
    pbx.stored_recordings.pop(name, None)
    pbx.live_recordings.pop(name, None)
    return 204, None


async def list_applications(pbx: Pbx, req: MatchedRequest) -> Reply:
    return 200, [_application(pbx, app) for app in sorted(pbx.senders)]


async def get_application(pbx: Pbx, req: MatchedRequest) -> Reply:
    app = req.path_params["applicationName"]
    if app not in pbx.senders:
        raise SimError(404, "Application not found")
    return 200, _application(pbx, app)


def _application(pbx: Pbx, app: str) -> dict[str, Any]:
    ids = [ch.id for ch in pbx.channels.values() if ch.app == app]
    return {"name": app, "channel_ids": ids, "bridge_ids": [], "endpoint_ids": [], "device_names": [],
            "events_allowed": [], "events_disallowed": []}  # fmt: skip


async def user_event(pbx: Pbx, req: MatchedRequest) -> Reply:
    """`ChannelUserevent` to one application, with the body's variables (and `eventname`) in `userevent`."""
    app = req.params["application"]
    if app not in pbx.senders:
        raise SimError(404, "Application not found")
    name = req.path_params["eventName"]
    variables = req.variables if isinstance(req.variables, dict) else {}
    fields: dict[str, Any] = {"eventname": name, "userevent": {**variables, "eventname": name}}
    for source in filter(None, req.params.get("source", "").split(",")):
        scheme, _, ident = source.partition(":")
        if scheme == "channel" and ident in pbx.channels:
            fields["channel"] = pbx.channels[ident].to_json()
        elif scheme == "bridge" and ident in pbx.bridges:
            fields["bridge"] = pbx.bridges[ident].to_json()
        elif scheme in ("channel", "bridge", "endpoint", "deviceState"):
            raise SimError(422, "Event source not found")
        else:
            raise SimError(400, "Invalid event source URI or userevent data")
    pbx.emit(app, "ChannelUserevent", **fields)
    return 204, None


HANDLERS: dict[tuple[str, str], Handler] = {
    ("channels", "originate"): originate,
    ("channels", "originateWithId"): originate,
    ("channels", "hangup"): hangup,
    ("channels", "get"): get_channel,
    ("channels", "list"): list_channels,
    ("channels", "sendDTMF"): send_dtmf,
    ("channels", "getChannelVar"): get_variable,
    ("channels", "setChannelVar"): set_variable,
    ("channels", "externalMedia"): external_media,
    ("channels", "mute"): mute,
    ("channels", "unmute"): unmute,
    ("bridges", "create"): create_bridge,
    ("bridges", "createWithId"): create_bridge,
    ("bridges", "list"): list_bridges,
    ("bridges", "get"): get_bridge,
    ("bridges", "destroy"): destroy_bridge,
    ("bridges", "addChannel"): add_channel,
    ("bridges", "removeChannel"): remove_channel,
    ("bridges", "record"): record_bridge,
    ("recordings", "listStored"): list_stored,
    ("recordings", "getStored"): get_stored,
    ("recordings", "getStoredFile"): get_stored_file,
    ("recordings", "deleteStored"): delete_stored,
    ("events", "userEvent"): user_event,
    ("applications", "list"): list_applications,
    ("applications", "get"): get_application,
    ("asterisk", "listModules"): list_modules,
    ("asterisk", "getModule"): get_module,
    ("endpoints", "list"): list_endpoints,
    ("endpoints", "get"): get_endpoint,
    ("asterisk", "getInfo"): asterisk_info,
    ("asterisk", "ping"): ping,
}
