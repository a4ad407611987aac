"""Can this Asterisk place OpenDeep's calls? Checks over ARI, one clear sentence per finding.

Run by `provision-asterisk --check` and by the adapter at start and in its `status()`
(`/health`'s pbx component). Problems make the PBX not ready; warnings do not.
- the dial endpoint's technology (`PJSIP` in `PJSIP/{number}@trunk`) must have its channel
  driver running (`GET /asterisk/modules/chan_pjsip.so`: a module whose dependencies are
  missing stays listed as "Not Running");
- the trunk endpoint named after `@` must exist and not be offline (`GET /endpoints/PJSIP/trunk`);
- chan_websocket's JSON control messages (MARK_MEDIA, FLUSH_MEDIA, XOFF/XON, DTMF_END) need
  Asterisk 20.18+, 22.8+ or 23.2+ (`GET /asterisk/info`); a source build's "GIT-master-..."
  version cannot be judged and only warns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .rest_client import AriError, AriRestClient, seg

# First release of each line whose chan_websocket has JSON control messages; newer majors have them.
JSON_CONTROL_SINCE: dict[int, tuple[int, int]] = {20: (20, 18), 22: (22, 8), 23: (23, 2)}
NEWEST_KNOWN_MAJOR = 23
VERSION_NEEDED = "20.18+, 22.8+ or 23.2+"
CORE_TECHNOLOGIES = {"local"}  # built into Asterisk: no module to load
_VERSION = re.compile(r"^(?:certified[-/])?(\d+)\.(\d+)")


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def version_finding(version: str) -> tuple[str, str] | None:
    """("problem" or "warning", sentence) about chan_websocket's control messages, or None if fine."""
    match = _VERSION.match(version.strip())
    if match is None:
        return "warning", (
            f"cannot tell from Asterisk's version '{version}' whether chan_websocket has JSON control messages "
            f"(MARK_MEDIA, FLUSH_MEDIA; {VERSION_NEEDED} have them): without them barge-in and marks do nothing"
        )
    major, minor = int(match.group(1)), int(match.group(2))
    if major > NEWEST_KNOWN_MAJOR:
        return None
    since = JSON_CONTROL_SINCE.get(major)
    if since is not None and (major, minor) >= since:
        return None
    return "problem", (
        f"Asterisk {version} is too old for chan_websocket's JSON control messages (MARK_MEDIA, FLUSH_MEDIA, "
        f"XOFF/XON): it needs {VERSION_NEEDED}"
    )


def split_dial_endpoint(template: str) -> tuple[str, str | None]:
    """(technology, trunk endpoint or None) of a dial template such as `PJSIP/{number}@trunk`."""
    tech, _, resource = template.partition("/")
    trunk = resource.partition("@")[2].partition("/")[0] if "@" in resource else None
    return tech, trunk or None


async def check_pbx(rest: AriRestClient, dial_endpoint: str) -> CheckReport:
    """Every finding about the Asterisk behind `rest` for dialling through `dial_endpoint`."""
    report = CheckReport()
    info = await rest.asterisk_info()
    version = str((info or {}).get("system", {}).get("version", ""))
    finding = version_finding(version)
    if finding is not None:
        (report.problems if finding[0] == "problem" else report.warnings).append(finding[1])
    tech, trunk = split_dial_endpoint(dial_endpoint)
    if not tech or tech.lower() in CORE_TECHNOLOGIES:
        return report
    module = f"chan_{tech.lower()}.so"
    try:
        status = (await rest.request("GET", f"/asterisk/modules/{seg(module)}") or {}).get("status")
    except AriError as exc:
        if exc.status == 0:
            raise
        status = None
    if status != "Running":
        state = "not running (it declined to load: a module it requires is missing)" if status else "not loaded"
        report.problems.append(
            f"the dial endpoint {dial_endpoint} needs {module}, which is {state}: see modules.conf and the Asterisk log"
        )
        return report
    if trunk is None or tech.lower() not in ("pjsip", "iax2"):
        return report
    try:
        endpoint = await rest.request("GET", f"/endpoints/{seg(tech)}/{seg(trunk)}") or {}
    except AriError as exc:
        if exc.status != 404:
            raise
        report.problems.append(f"the trunk endpoint {tech}/{trunk} does not exist on the PBX: see pjsip.conf")
        return report
    if endpoint.get("state") == "offline":
        report.problems.append(
            f"the trunk endpoint {tech}/{trunk} is offline (its contact does not answer): check the trunk host, "
            "credentials and network"
        )
    return report
