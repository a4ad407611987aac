"""The HITL inbox: questions the agent asks the task's owner, with a countdown and an answer box."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from db import hitl
from db.errors import NotFound
from engine.hitl import RefusalReason, answer_question
from web.auth import current_user, db_pool, signed_in
from web.forms import AnswerForm, Form
from web.rendering import fragment, page


async def _inbox(request: Request) -> dict[str, Any]:
    user = current_user(request)
    found = await hitl.list_inbox_requests(db_pool(request), user.id, limit=50)
    return {"open": sorted((q for q in found if q.status == "open"), key=lambda q: q.deadline), "closed": [q for q in found if q.status != "open"][:20]}


class HitlPages(Controller):
    guards = [signed_in]
    include_in_schema = False

    @get("/inbox")
    async def inbox(self, request: Request) -> Template:
        return await page(request, "inbox.html", **await _inbox(request), error=None, next_call_question=None)

    @get("/fragments/inbox")
    async def inbox_fragment(self, request: Request) -> Template:
        return fragment(request, "_inbox_items.html", **await _inbox(request), error=None, next_call_question=None)

    @get("/inbox/count")
    async def open_count(self, request: Request) -> dict[str, int]:
        return {"open": await hitl.count_open_requests(db_pool(request), current_user(request).id)}

    @post("/inbox/{request_id:uuid}/answer")
    async def answer(self, request: Request, request_id: UUID, data: Annotated[AnswerForm, Form]) -> Template | Redirect:
        result = await answer_question(db_pool(request), current_user(request).id, request_id, data.answer,
                                       for_next_call=data.for_next_call)
        if result.reason is RefusalReason.NOT_FOUND:
            raise NotFound("question", request_id)
        if not result.accepted:
            return await page(request, "inbox.html", 409, **await _inbox(request), error=result.message,
                              next_call_question=request_id if result.can_answer_for_next_call else None,
                              pending_answer=data.answer)
        return Redirect("/inbox", status_code=303)
