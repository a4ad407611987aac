"""The simulator's ARI answers about Asterisk itself: modules, endpoints, version, ping.

Modules are those `asterisk/modules.conf` (or `SimulatorConfig.modules_conf`) loads, with
Asterisk's dependency rule (`modules.py`): a declined module is listed as "Not Running".
`SimulatorConfig.unloaded_modules`, `.endpoints` and `.version` make each start-up check
(`ari_apps/pbx_checks.py`) fail on demand.
"""

from __future__ import annotations

from typing import Any

from ..ari_spec import MatchedRequest
from .modules import SHIPPED_MODULES_CONF, running_modules
from .pbx import Pbx, SimError

Reply = tuple[int, Any]


def _modules(pbx: Pbx) -> dict[str, str]:
    """{"name.so": "Running" or "Not Running"}: the modules.conf's load lines, declined ones included."""
    text = pbx.config.modules_conf
    if text is None:
        text = SHIPPED_MODULES_CONF.read_text()
    running, declined = running_modules(text)
    absent = {m.removesuffix(".so") for m in pbx.config.unloaded_modules}
    status = {name: "Running" for name in running} | {name: "Not Running" for name in declined}
    return {f"{name}.so": state for name, state in sorted(status.items()) if name not in absent}


def _module_json(name: str, status: str) -> dict[str, Any]:
    return {"name": name, "description": "simulated", "use_count": 0, "status": status, "support_level": "core"}


async def list_modules(pbx: Pbx, req: MatchedRequest) -> Reply:
    return 200, [_module_json(name, status) for name, status in _modules(pbx).items()]


async def get_module(pbx: Pbx, req: MatchedRequest) -> Reply:
    """Asterisk matches the name with or without `.so` (find_resource), then reports the full name."""
    name = req.path_params["moduleName"]
    full = name if name.endswith(".so") else f"{name}.so"
    status = _modules(pbx).get(full)
    if status is None:
        raise SimError(404, "Module could not be found in running modules")
    if full != name:
        raise SimError(409, "Module information could not be retrieved")  # identify_module compares exactly
    return 200, _module_json(full, status)


def loaded(pbx: Pbx, module: str) -> bool:
    return _modules(pbx).get(module) == "Running"


def _endpoint_json(pbx: Pbx, tech: str, resource: str, state: str) -> dict[str, Any]:
    ids = [ch.id for ch in pbx.channels.values() if ch.name.startswith(f"{tech}/{resource}-")]
    return {"technology": tech, "resource": resource, "state": state, "channel_ids": ids}


def endpoint_states(pbx: Pbx) -> dict[str, dict[str, str]]:
    techs: dict[str, dict[str, str]] = {}
    for key, state in pbx.config.endpoints.items():
        tech, _, resource = key.partition("/")
        if loaded(pbx, f"chan_{tech.lower()}.so"):
            techs.setdefault(tech, {})[resource] = state
    return techs


async def list_endpoints(pbx: Pbx, req: MatchedRequest) -> Reply:
    techs = endpoint_states(pbx)
    return 200, [_endpoint_json(pbx, t, r, s) for t, by_resource in techs.items() for r, s in by_resource.items()]


async def get_endpoint(pbx: Pbx, req: MatchedRequest) -> Reply:
    tech, resource = req.path_params["tech"], req.path_params["resource"]
    state = endpoint_states(pbx).get(tech, {}).get(resource)
    if state is None:
        raise SimError(404, "Endpoint not found")
    return 200, _endpoint_json(pbx, tech, resource, state)


async def asterisk_info(pbx: Pbx, req: MatchedRequest) -> Reply:
    return 200, {"system": {"version": pbx.config.version, "entity_id": "opendeep-simulator"}}


async def ping(pbx: Pbx, req: MatchedRequest) -> Reply:
    return 200, {"asterisk_id": "02:fc:00:00:00:01", "ping": "pong", "timestamp": ""}
