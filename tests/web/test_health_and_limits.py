"""/health tells the public only ok / not ok; the built-in simulator's ARI login is random and never shown."""

from __future__ import annotations

import aiohttp

from ari_apps.factory import build_telephony
from engine.settings import Settings
from tests.web.conftest import PASSWORD


async def test_health_shows_anyone_only_ok_per_part(client_factory, signed_in):
    anonymous = await client_factory()
    public = await anonymous.client.get("/health")
    body = public.json()
    assert body["database"] == {"ok": True}
    assert "node" not in body
    assert all(set(part) == {"ok"} for name, part in body.items() if name != "ok"), body
    user, _ = await signed_in()
    assert (await user.client.get("/health")).json() == body  # a signed-in user who is not an admin: the same


async def test_health_shows_admins_modes_and_reasons(signed_in):
    admin, _ = await signed_in("admin")
    body = (await admin.client.get("/health")).json()
    assert body["database"] == {"ok": True, "mode": "external"} and body["node"]
    assert all("mode" in part for name, part in body.items() if isinstance(part, dict))


async def test_the_simulators_ari_login_is_random_per_process_and_not_the_old_fixed_one(database_url, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path, openai_api_key=None)
    first = await build_telephony(settings, sink=None)  # type: ignore[arg-type]
    second = await build_telephony(settings, sink=None)  # type: ignore[arg-type]
    try:
        assert first.config.password not in ("", "opendeep", PASSWORD)
        assert len(first.config.password) >= 24 and first.config.password != second.config.password
        async with aiohttp.ClientSession() as http:
            url = f"{first.config.ari_url}/asterisk/info"
            old = await http.get(url, auth=aiohttp.BasicAuth("opendeep", "opendeep"))
            assert old.status == 401
            good = await http.get(url, auth=aiohttp.BasicAuth(first.config.user, first.config.password))
            assert good.status == 200
    finally:
        await first.close()
        await second.close()
