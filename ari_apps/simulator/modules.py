"""Which Asterisk modules run, given a `modules.conf`: Asterisk's loader, reduced to its dependency rule.

With `autoload = no`, Asterisk loads exactly the `load =` lines, in dependency order, and a
module whose `.requires` are not all running "declined to load" (it is absent from
`GET /asterisk/modules`; `GET /asterisk/modules/{name}` answers 404). `MODULE_REQUIRES` is the
`AST_MODULE_INFO(... .requires = "...")` of each module OpenDeep's configuration loads, read
from the Asterisk source (master, commit f0c1c1a7b7; chan_pjsip.c, res/res_pjsip*.c, ...).
Names not in the table are core parts (`http`, `dnsmgr`) or modules without requirements.
"""

from __future__ import annotations

import re
from pathlib import Path

SHIPPED_MODULES_CONF = Path(__file__).resolve().parents[2] / "asterisk" / "modules.conf"

# Built into the asterisk binary: always "loaded".
CORE_PARTS = frozenset({"http", "dnsmgr"})

MODULE_REQUIRES: dict[str, tuple[str, ...]] = {
    "res_http_websocket": ("http",),
    "res_websocket_client": ("res_http_websocket",),
    "res_stasis_answer": ("res_stasis",),
    "res_stasis_playback": ("res_stasis", "res_stasis_recording"),
    "res_stasis_recording": ("res_stasis",),
    "res_stasis_snoop": ("res_stasis",),
    "res_stasis_device_state": ("res_stasis",),
    "res_ari": ("http", "res_stasis", "res_http_websocket", "res_websocket_client"),
    "res_ari_applications": ("res_ari", "res_ari_model", "res_stasis"),
    "res_ari_asterisk": ("res_ari", "res_ari_model", "res_stasis"),
    "res_ari_bridges": ("res_ari", "res_ari_model", "res_stasis", "res_stasis_recording", "res_stasis_playback"),
    "res_ari_channels": (
        "res_ari", "res_ari_model", "res_stasis", "res_stasis_answer", "res_stasis_playback",
        "res_stasis_recording", "res_stasis_snoop",
    ),  # fmt: skip
    "res_ari_device_states": ("res_ari", "res_ari_model", "res_stasis", "res_stasis_device_state"),
    "res_ari_endpoints": ("res_ari", "res_ari_model", "res_stasis"),
    "res_ari_events": ("res_ari", "res_ari_model", "res_stasis", "res_http_websocket"),
    "res_ari_playbacks": ("res_ari", "res_ari_model", "res_stasis", "res_stasis_playback"),
    "res_ari_recordings": ("res_ari", "res_ari_model", "res_stasis", "res_stasis_recording"),
    "res_ari_sounds": ("res_ari", "res_ari_model", "res_stasis"),
    "app_stasis": ("res_stasis", "res_ari"),
    "res_rtp_asterisk": ("res_pjproject",),
    "chan_rtp": ("res_rtp_multicast",),
    "chan_audiosocket": ("res_audiosocket",),
    "app_audiosocket": ("res_audiosocket",),
    "chan_websocket": ("res_http_websocket", "res_websocket_client"),
    "res_http_media_cache": ("res_curl",),
    "res_pjproject": ("res_sorcery_config",),
    "res_pjsip": ("dnsmgr", "res_pjproject", "res_sorcery_config", "res_sorcery_memory", "res_sorcery_astdb"),
    "res_pjsip_session": ("res_pjsip",),
    "res_pjsip_pubsub": ("res_pjsip",),
    "res_pjsip_outbound_registration": ("res_pjsip",),
    "res_pjsip_outbound_authenticator_digest": ("res_pjsip",),
    "res_pjsip_authenticator_digest": ("res_pjsip",),
    "res_pjsip_endpoint_identifier_ip": ("res_pjsip",),
    "res_pjsip_registrar": ("res_pjproject", "res_pjsip"),
    "res_pjsip_sdp_rtp": ("res_pjsip", "res_pjsip_session"),
    "res_pjsip_caller_id": ("res_pjsip", "res_pjsip_session"),
    "res_pjsip_rfc3326": ("res_pjsip", "res_pjsip_session"),
    "res_pjsip_dtmf_info": ("res_pjsip", "res_pjsip_session"),
    "res_pjsip_nat": ("res_pjsip", "res_pjsip_session"),
    "chan_pjsip": ("res_pjsip", "res_pjsip_session", "res_pjsip_pubsub"),
}

# pjsip.conf options OpenDeep's template sets, and the module that acts on them (without it
# Asterisk accepts the option and silently ignores it).
PJSIP_OPTION_MODULES: dict[str, str] = {
    "force_rport": "res_pjsip_nat",
    "rewrite_contact": "res_pjsip_nat",
    "rtp_symmetric": "res_pjsip_sdp_rtp",
    "outbound_auth": "res_pjsip_outbound_authenticator_digest",
    "send_pai": "res_pjsip_caller_id",  # P-Asserted-Identity added by its outgoing-request hook
    "trust_id_outbound": "res_pjsip_caller_id",
}

_LOAD_LINE = re.compile(r"^\s*load\s*=>?\s*(\S+?)(?:\.so)?\s*(?:;.*)?$", re.M)


def listed_modules(conf_text: str) -> list[str]:
    """The `load =` lines of a modules.conf (names without `.so`)."""
    return _LOAD_LINE.findall(conf_text)


def running_modules(conf_text: str) -> tuple[set[str], dict[str, list[str]]]:
    """(modules that load, {declined module: its missing requirements}) for `autoload = no`."""
    listed = set(listed_modules(conf_text))
    running = set(listed)
    declined: dict[str, list[str]] = {}
    changed = True
    while changed:  # a declined module takes down whatever requires it
        changed = False
        for name in sorted(running):
            missing = [r for r in MODULE_REQUIRES.get(name, ()) if r not in running and r not in CORE_PARTS]
            if missing:
                running.discard(name)
                declined[name] = missing
                changed = True
    return running, declined
