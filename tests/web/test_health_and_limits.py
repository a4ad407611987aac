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
            old = await http.get(url, headers={"Authorization": aiohttp.encode_basic_auth("opendeep", "opendeep")})
            assert old.status == 401
            good = await http.get(url, headers={"Authorization": aiohttp.encode_basic_auth(first.config.user,
                                                                                      first.config.password)})
            assert good.status == 200
    finally:
        await first.close()
        await second.close()


async def _bearer(pool, user) -> dict[str, str]:
    from db import api_tokens

    return {"Authorization": f"Bearer {(await api_tokens.create_token(pool, user.id, 't', 'write')).secret}"}


async def test_a_campaign_of_3000_tasks_is_refused_and_nothing_is_created(signed_in, pool):
    from db import campaigns

    web, user = await signed_in()
    plan = {"title": "Everyone", "tasks": [{"phone_number": "+14155550123", "objective": "x"}] * 3000}
    response = await web.client.post("/api/campaigns", json=plan, headers=await _bearer(pool, user))
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("A campaign holds at most 500 tasks; this one has 3000.")
    assert await campaigns.list_campaigns(pool, user.id) == []


async def test_campaigns_per_day_are_limited_with_429(node, pool, make_account):
    import httpx

    from db import campaigns
    from engine.app.node import Node
    from engine.planner.chat import RulePlanner
    from tests.web.conftest import serving
    from web.app import create_app

    strict = Node(settings=node.settings.model_copy(update={"max_campaigns_per_day": 2}), database=node.database)
    app = create_app(strict, planner=RulePlanner())
    user = await make_account()
    bearer = await _bearer(pool, user)
    plan = {"title": "Dentist", "tasks": [{"phone_number": "+14155550123", "objective": "Ask", "draft": True}]}
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
        made = [await http.post("/api/campaigns", json=plan, headers=bearer) for _ in range(3)]
    assert [r.status_code for r in made] == [201, 201, 429]
    assert "2 campaigns in the last 24 hours" in made[2].json()["detail"]
    assert len(await campaigns.list_campaigns(pool, user.id)) == 2


async def test_the_api_reference_loads_redoc_from_this_server_not_a_cdn(client_factory):
    web = await client_factory()
    for path in ("/schema", "/schema/redoc"):
        page = await web.client.get(path)
        assert page.status_code == 200 and 'src="/vendor/redoc/redoc.standalone.js"' in page.text, page.text[:500]
        assert "https://" not in page.text.split("<body>")[0]  # no script or font from elsewhere
    script = await web.client.get("/vendor/redoc/redoc.standalone.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert len(script.content) > 100_000
