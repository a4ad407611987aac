import re
import socket
import stat

import pytest

from ari_apps import provisioning
from ari_apps.provisioning import PbxSettings, check_asterisk, render_config
from ari_apps.simulator import PERSONAS
from ari_apps.simulator import rest as sim_rest


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
    assert await check_asterisk(target.ari_url, target.user, target.password, target.app) == []


async def test_check_names_each_problem(sim, monkeypatch):
    assert await check_asterisk(sim.ari_url, sim.user, "wrong") == [
        "ARI refused the credentials of user 'opendeep': check ari.conf"
    ]
    monkeypatch.setattr(sim_rest, "SIMULATED_MODULES", tuple(m for m in sim_rest.SIMULATED_MODULES if m != "chan_websocket.so"))
    assert await check_asterisk(sim.ari_url, sim.user, sim.password) == [
        "module chan_websocket.so is not loaded (needed for chan_websocket media (Asterisk 20.16+/22.6+/23)): see modules.conf"
    ]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    problems = await check_asterisk(f"http://127.0.0.1:{port}/ari", "u", "p")
    assert problems == [f"cannot reach ARI at http://127.0.0.1:{port}/ari: is Asterisk running and http.conf enabled on that address?"]
