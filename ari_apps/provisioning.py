"""Render OpenDeep's Asterisk configuration for one PBX, and check a running Asterisk over ARI.

Templates live in the repository's `asterisk/` directory; `@@NAME@@` placeholders are
filled from `PbxSettings`. The check reports one clear sentence per problem.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from .pbx_checks import CheckReport, check_pbx
from .rest_client import AriError, AriRestClient, AriUnreachable

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "asterisk"
CONF_FILES = (
    "http.conf", "ari.conf", "chan_websocket.conf", "modules.conf", "extensions.conf", "pjsip.conf", "rtp.conf",
)  # fmt: skip
REQUIRED_MODULES = {
    "res_ari.so": "ARI itself",
    "res_stasis.so": "Stasis applications",
    "app_stasis.so": "Stasis applications",
    "res_ari_channels.so": "the channels API",
    "res_ari_bridges.so": "the bridges API",
    "res_ari_events.so": "the events WebSocket",
    "res_http_websocket.so": "WebSockets",
    "chan_websocket.so": "chan_websocket media (Asterisk 20.18+/22.8+/23.2+)",
    "res_timing_timerfd.so": "the 20 ms media timer",
    "bridge_simple.so": "two-party bridges",
    "chan_bridge_media.so": "bridge recording",
    "res_stasis_recording.so": "recordings",
}
_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")


@dataclass(frozen=True)
class PbxSettings:
    ari_user: str
    ari_password: str
    app: str = "opendeep"
    http_bind: str = "0.0.0.0:8088"
    trunk_host: str = "sip.provider.example"
    trunk_user: str = "account"
    trunk_password: str = "change-me"
    rtp_ports: tuple[int, int] = (10000, 10100)

    def values(self) -> dict[str, str]:
        host, _, port = self.http_bind.rpartition(":")
        return {
            "ARI_USER": self.ari_user,
            "ARI_PASSWORD": self.ari_password,
            "HTTP_BIND_ADDR": host or "0.0.0.0",
            "HTTP_BIND_PORT": port or "8088",
            "TRUNK_HOST": self.trunk_host,
            "TRUNK_MATCH": self.trunk_host.partition(":")[0],
            "TRUNK_USER": self.trunk_user,
            "TRUNK_PASSWORD": self.trunk_password,
            "RTP_START": str(self.rtp_ports[0]),
            "RTP_END": str(self.rtp_ports[1]),
        }


def render(template: str, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for placeholder @@{name}@@")
        return values[name]

    return _PLACEHOLDER.sub(fill, template)


def render_config(settings: PbxSettings, out_dir: Path) -> list[Path]:
    """Write the rendered .conf files (ari.conf and pjsip.conf readable by the owner only) and sounds."""
    from .simulator.audio import intercept, speech
    from .simulator.personas import PROMPT_SPEECH, voicemail_beep
    from .simulator.wav import wav_bytes

    if not re.fullmatch(r"[A-Za-z0-9_-]+", settings.ari_user):
        raise ValueError("the ARI user name may only contain letters, digits, '_' and '-'")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    values = settings.values()
    for name in CONF_FILES:
        target = out_dir / name
        target.write_text(render((TEMPLATE_DIR / name).read_text(), values))
        if name in ("ari.conf", "pjsip.conf"):
            target.chmod(stat.S_IRUSR | stat.S_IWUSR)
        written.append(target)
    sounds = out_dir / "sounds"
    sounds.mkdir(exist_ok=True)
    (sounds / "digits").mkdir(exist_ok=True)
    prompts = [("hello", 1.0, 4), ("greeting", 6.0, 7)]
    prompts += [(name, seconds, seed) for name, (seconds, seed) in PROMPT_SPEECH.items()]  # the personas' own
    prompts += [(f"digits/{d}", 0.6, 100 + ord(d)) for d in "0123456789"]  # SayDigits in callee-ivr
    for name, seconds, seed in prompts:
        (sounds / f"{name}.wav").write_bytes(wav_bytes(speech(seconds, seed), 8000))
        written.append(sounds / f"{name}.wav")
    (sounds / "intercept.wav").write_bytes(wav_bytes(intercept(), 8000))  # SIT tones + "not in service"
    written.append(sounds / "intercept.wav")
    (sounds / "beep.wav").write_bytes(wav_bytes(voicemail_beep(), 8000))  # callee-voicemail's 1 kHz, 0.4 s
    written.append(sounds / "beep.wav")
    return written


DEFAULT_DIAL_ENDPOINT = "PJSIP/{number}@trunk"


async def check_asterisk(
    url: str, user: str, password: str, app: str = "opendeep", dial_endpoint: str = DEFAULT_DIAL_ENDPOINT
) -> CheckReport:
    """Problems (and warnings) found with the Asterisk at `url`; no problems means ready."""
    async with aiohttp.ClientSession() as session:
        rest = AriRestClient(url, user, password, session, timeout_s=5)
        try:
            await rest.asterisk_info()
        except AriUnreachable:
            return CheckReport([f"cannot reach ARI at {url}: is Asterisk running and http.conf enabled on that address?"])
        except AriError as exc:
            if exc.status == 401:
                return CheckReport([f"ARI refused the credentials of user '{user}': check ari.conf"])
            if exc.status == 404:
                return CheckReport([f"{url} answered 404: the URL must end in /ari and res_ari must be loaded"])
            return CheckReport([f"ARI answered {exc.status} {exc.message} to GET /asterisk/info"])
        report = await check_pbx(rest, dial_endpoint)
        problems = report.problems
        loaded = {m.get("name") for m in await rest.list_modules() if m.get("status", "Running") == "Running"}
        for module, purpose in REQUIRED_MODULES.items():
            if module not in loaded:
                problems.append(f"module {module} is not loaded (needed for {purpose}): see modules.conf")
        ws_url = url.replace("http", "ws", 1) + "/events"
        try:
            params = {"app": f"{app}-check", "subscribeAll": "false"}
            async with session.ws_connect(ws_url, params=params, headers=rest.auth_headers):
                pass
        except aiohttp.WSServerHandshakeError as exc:
            problems.append(f"the ARI events WebSocket was refused ({exc.status})")
        except (aiohttp.ClientError, TimeoutError):
            problems.append("the ARI events WebSocket could not be opened")
        return report
