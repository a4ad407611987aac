"""The HITL inbox: questions the agent asks the task's owner, with a countdown and an answer box."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from db import hitl
from db.errors import InvalidInput
from web.auth import current_user, signed_in
from web.forms import AnswerForm
from web.rendering import fragment, page

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def _pool(request: Request) -> Any:
    return request.app.state.node.database.pool


async def _inbox(request: Request) -> dict[str, Any]:
    user = current_user(request)
    found = await hitl.list_requests(_pool(request), user.id, limit=50)
    return {"open": sorted((q for q in found if q.status == "open"), key=lambda q: q.deadline), "closed": [q for q in found if q.status != "open"][:20]}


class HitlPages(Controller):
    guards = [signed_in]
    include_in_schema = False

    @get("/inbox")
    async def inbox(self, request: Request) -> Template:
        return await page(request, "inbox.html", **await _inbox(request), error=None)

    @get("/fragments/inbox")
    async def inbox_fragment(self, request: Request) -> Template:
        return fragment(request, "_inbox_items.html", **await _inbox(request), error=None)

    @get("/inbox/count")
    async def open_count(self, request: Request) -> dict[str, int]:
        return {"open": len(await hitl.list_requests(_pool(request), current_user(request).id, status="open"))}

    @post("/inbox/{request_id:uuid}/answer")
    async def answer(self, request: Request, request_id: UUID, data: Annotated[AnswerForm, Form]) -> Template | Redirect:
        try:
            await hitl.answer_request(_pool(request), current_user(request).id, request_id, data.answer)
        except InvalidInput as exc:
            return await page(request, "inbox.html", 400, **await _inbox(request), error=exc)
        return Redirect("/inbox", status_code=303)
