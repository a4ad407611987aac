import logging
import re
import socket
import stat

import pytest

from ari_apps import provisioning
from ari_apps.pbx_checks import version_finding
from ari_apps.provisioning import PbxSettings, check_asterisk, render_config
from ari_apps.rest_client import AriError
from ari_apps.simulator import PERSONAS
from ari_apps.simulator.modules import PJSIP_OPTION_MODULES, SHIPPED_MODULES_CONF, running_modules

from .telephony import ari_telephony  # noqa: E402


def test_rendered_config_is_complete_and_keeps_secrets_private(tmp_path):
    settings = PbxSettings(ari_user="node1", ari_password="pw-123", trunk_host="sip.example.net", trunk_user="acct")
    render_config(settings, tmp_path)
    for name in provisioning.CONF_FILES:
        text = (tmp_path / name).read_text()
        assert "@@" not in text, name
    assert "[node1]" in (tmp_path / "ari.conf").read_text() and "password = pw-123" in (tmp_path / "ari.conf").read_text()
    assert "client_uri = sip:acct@sip.example.net" in (tmp_path / "pjsip.conf").read_text()
    assert stat.S_IMODE((tmp_path / "ari.conf").stat().st_mode) == 0o600
    assert (tmp_path / "sounds" / "hello.wav").read_bytes()[:4] == b"RIFF"
    assert sorted(p.stem for p in (tmp_path / "sounds" / "digits").glob("*.wav")) == list("0123456789")


def test_every_simulator_persona_has_a_dialplan_context():
    contexts = set(re.findall(r"^\[callee-([a-z-]+)\]", (provisioning.TEMPLATE_DIR / "extensions.conf").read_text(), re.M))
    assert contexts == set(PERSONAS) | {"numbers"}  # callee-numbers: the test numbers, mapped to these


def test_bad_user_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="ARI user name"):
        render_config(PbxSettings(ari_user="bad name]", ari_password="x"), tmp_path)


async def test_check_passes_on_a_ready_pbx(target):
    report = await check_asterisk(target.ari_url, target.user, target.password, target.app)
    assert report.problems == []


def test_shipped_modules_conf_loads_every_module_it_lists():
    """Asterisk declines a module whose `.requires` are not loaded (chan_pjsip needs res_pjsip_pubsub)."""
    running, declined = running_modules(SHIPPED_MODULES_CONF.read_text())
    assert declined == {}
    assert {"chan_pjsip", "res_pjsip_outbound_registration", "chan_websocket", "res_ari"} <= running


def test_shipped_modules_conf_acts_on_every_pjsip_option_the_template_sets():
    running, _ = running_modules(SHIPPED_MODULES_CONF.read_text())
    pjsip = (provisioning.TEMPLATE_DIR / "pjsip.conf").read_text()
    used = {opt for opt in PJSIP_OPTION_MODULES if re.search(rf"^{opt}\s*=", pjsip, re.M)}
    assert used == set(PJSIP_OPTION_MODULES)
    assert {opt: PJSIP_OPTION_MODULES[opt] for opt in used if PJSIP_OPTION_MODULES[opt] not in running} == {}


async def test_check_passes_with_the_shipped_modules_conf(sim):
    """The simulator loads asterisk/modules.conf like Asterisk: the default dial endpoint works first time."""
    report = await check_asterisk(sim.ari_url, sim.user, sim.password, dial_endpoint="PJSIP/{number}@trunk")
    assert (report.problems, report.warnings) == ([], [])


async def test_check_names_each_problem(sim):
    assert (await check_asterisk(sim.ari_url, sim.user, "wrong")).problems == [
        "ARI refused the credentials of user 'opendeep': check ari.conf"
    ]
    sim.config.unloaded_modules = {"chan_websocket"}
    assert (await check_asterisk(sim.ari_url, sim.user, sim.password)).problems == [
        "module chan_websocket.so is not loaded (needed for chan_websocket media (Asterisk 20.18+/22.8+/23.2+)): "
        "see modules.conf"
    ]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    problems = (await check_asterisk(f"http://127.0.0.1:{port}/ari", "u", "p")).problems
    assert problems == [f"cannot reach ARI at http://127.0.0.1:{port}/ari: is Asterisk running and http.conf enabled on that address?"]


async def check(sim, dial_endpoint="PJSIP/{number}@trunk"):
    return await check_asterisk(sim.ari_url, sim.user, sim.password, dial_endpoint=dial_endpoint)


async def test_check_fails_when_chan_pjsip_declined_to_load(sim):
    sim.config.modules_conf = SHIPPED_MODULES_CONF.read_text().replace("load = res_pjsip_pubsub.so", "")
    report = await check(sim)
    assert report.problems == [
        "the dial endpoint PJSIP/{number}@trunk needs chan_pjsip.so, which is not running (it declined to load: "
        "a module it requires is missing): see modules.conf and the Asterisk log"
    ]


async def test_check_fails_when_the_dial_technology_is_not_loaded(sim):
    sim.config.unloaded_modules = {"chan_pjsip"}
    assert (await check(sim)).problems == [
        "the dial endpoint PJSIP/{number}@trunk needs chan_pjsip.so, which is not loaded: "
        "see modules.conf and the Asterisk log"
    ]
    assert (await check(sim, "Local/{number}@callee-numbers/n")).problems == []  # Local is built in


async def test_check_fails_when_the_trunk_is_missing_or_offline(sim):
    sim.config.endpoints = {}
    assert (await check(sim)).problems == ["the trunk endpoint PJSIP/trunk does not exist on the PBX: see pjsip.conf"]
    sim.config.endpoints = {"PJSIP/trunk": "offline"}
    assert (await check(sim)).problems == [
        "the trunk endpoint PJSIP/trunk is offline (its contact does not answer): check the trunk host, "
        "credentials and network"
    ]


@pytest.mark.parametrize(
    "version, verdict",
    [
        ("23.2.0", None), ("22.8.1", None), ("20.18.0", None), ("24.0.0", None), ("23.10.0", None),
        ("22.6.0", "problem"), ("23.1.0", "problem"), ("20.16.0", "problem"), ("21.12.0", "problem"),
        ("18.26.0", "problem"), ("certified-20.7-cert5", "problem"),
        ("GIT-master-f0c1c1a7b7", "warning"), ("", "warning"),
    ],
)  # fmt: skip
def test_version_thresholds_for_json_control_messages(version, verdict):
    finding = version_finding(version)
    assert (finding[0] if finding else None) == verdict


async def test_check_fails_on_an_asterisk_without_json_control_messages_and_warns_on_a_source_build(sim):
    sim.config.version = "22.6.0"
    assert (await check(sim)).problems == [
        "Asterisk 22.6.0 is too old for chan_websocket's JSON control messages (MARK_MEDIA, FLUSH_MEDIA, XOFF/XON): "
        "it needs 20.18+, 22.8+ or 23.2+"
    ]
    sim.config.version = "GIT-master-f0c1c1a7b7"
    report = await check(sim)
    assert report.problems == [] and len(report.warnings) == 1 and "GIT-master-f0c1c1a7b7" in report.warnings[0]


async def test_simulator_answers_modules_and_endpoints_like_asterisk(sim, rest):
    sim.config.modules_conf = SHIPPED_MODULES_CONF.read_text().replace("load = res_pjsip_pubsub.so", "")
    declined = await rest.request("GET", "/asterisk/modules/chan_pjsip.so")
    assert declined["status"] == "Not Running"
    with pytest.raises(AriError) as missing:
        await rest.request("GET", "/asterisk/modules/chan_sip.so")
    assert (missing.value.status, missing.value.message) == (404, "Module could not be found in running modules")
    with pytest.raises(AriError) as no_channel:
        await rest.originate("PJSIP/+12025550102@trunk", "opendeep", channel_id="c1")
    assert (no_channel.value.status, no_channel.value.message) == (500, "Allocation failed")
    sim.config.modules_conf = None
    assert await rest.request("GET", "/endpoints/PJSIP/trunk") == {
        "technology": "PJSIP", "resource": "trunk", "state": "online", "channel_ids": []
    }
    with pytest.raises(AriError) as unknown:
        await rest.request("GET", "/endpoints/PJSIP/nope")
    assert (unknown.value.status, unknown.value.message) == (404, "Endpoint not found")


async def test_adapter_logs_the_checks_at_start_and_health_reports_them(sim, sink, caplog):
    """`opendeep serve` starts the adapter: the same checks are logged, and /health's pbx says why not ok."""
    sim.config.endpoints = {"PJSIP/trunk": "offline"}
    sim.config.version = "GIT-master-f0c1c1a7b7"
    adapter = ari_telephony(sim, sink, mode="simulated")
    with caplog.at_level(logging.INFO, logger="ari_apps.adapter"):
        await adapter.start()
    try:
        logged = [r.getMessage() for r in caplog.records if r.name == "ari_apps.adapter"]
        assert any("PBX check: the trunk endpoint PJSIP/trunk is offline" in m for m in logged)
        assert any("PBX check: cannot tell from Asterisk's version 'GIT-master-f0c1c1a7b7'" in m for m in logged)
        status = await adapter.status()
        assert not status.ok and status.reason.startswith("the trunk endpoint PJSIP/trunk is offline")
        assert "GIT-master-f0c1c1a7b7" in status.details["warnings"][0]
        sim.config.endpoints = {"PJSIP/trunk": "online"}
        assert (await adapter.status()).ok
    finally:
        await adapter.close()
