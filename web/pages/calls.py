"""A call: outcome, transcript, recording, timeline; and the ARI event viewer."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect, Response, Stream, Template

from db import calls, events, hitl, transcripts
from engine.agent.test_call import test_call_task
from web import charts
from web.auth import current_user, db_pool, signed_in
from web.byte_ranges import Unsatisfiable, requested_range
from web.recordings import delete_recording
from web.rendering import fragment, page


async def _call_view(request: Request, call_id: UUID) -> dict[str, Any]:
    user, pool = current_user(request), db_pool(request)
    call = await calls.get_call(pool, user.id, call_id)
    ari = await events.list_ari_events(pool, user.id, call_id=call_id, limit=2000)
    turns = await transcripts.list_turns(pool, user.id, call_id)
    call_events = await events.list_call_events(pool, user.id, call_id)
    questions = await hitl.list_requests(pool, user.id, call_id=call_id)
    return {
        "call": call, "turns": turns, "call_events": call_events, "questions": questions, "all_ari_events": ari,
        "task": await test_call_task(pool, call),
        "timeline": charts.call_timeline(call, ari, turns, call_events, questions),
    }


def _filters(event_type: str | None, channel: str | None) -> dict[str, str | None]:
    return {"event_type": event_type or None, "channel_id": channel or None}


class CallPages(Controller):
    guards = [signed_in]
    include_in_schema = False

    @get("/calls/{call_id:uuid}")
    async def call_page(self, request: Request, call_id: UUID, event_type: str | None = None, channel: str | None = None) -> Template:
        view = await _call_view(request, call_id)
        filters = _filters(event_type, channel)
        ari = view["all_ari_events"]  # the timeline's events serve the table too, unless it is filtered
        if any(filters.values()):
            ari = await events.list_ari_events(db_pool(request), current_user(request).id, call_id=call_id, limit=2000, **filters)
        return await page(request, "call.html", **view, ari_events=ari, event_type=event_type or "", channel=channel or "",
                          types=sorted({e.event_type for e in view["all_ari_events"]}))

    @get("/fragments/calls/{call_id:uuid}")
    async def call_fragment(self, request: Request, call_id: UUID) -> Template:
        return fragment(request, "_call_live.html", **await _call_view(request, call_id))

    @get("/calls/{call_id:uuid}/recording")
    async def recording(self, request: Request, call_id: UUID) -> Stream | Response:
        """The call's recording, whole (200) or one byte range (206; 416 when it cannot be satisfied)."""
        call = await calls.get_call(db_pool(request), current_user(request).id, call_id)
        found = await request.app.state.recordings.open_recording(call)
        if found is None:
            raise NotFoundException("This call has no recording.")
        headers = {"Accept-Ranges": "bytes"}
        try:
            wanted = requested_range(request.headers.get("range"), found.size)
        except Unsatisfiable as exc:
            return Response(b"", status_code=416, headers={**headers, "Content-Range": exc.content_range})
        if wanted is None:
            return Stream(found.chunks(), media_type=found.media_type,
                          headers={**headers, "Content-Length": str(found.size)})
        return Stream(found.chunks(wanted.first, wanted.length), status_code=206, media_type=found.media_type,
                      headers={**headers, "Content-Length": str(wanted.length),
                               "Content-Range": wanted.content_range(found.size)})

    @post("/calls/{call_id:uuid}/recording/delete")
    async def delete_recording(self, request: Request, call_id: UUID) -> Redirect:
        user, pool = current_user(request), db_pool(request)
        call = await calls.get_call(pool, user.id, call_id)
        await delete_recording(pool, request.app.state.recordings, user, call)
        return Redirect(f"/calls/{call_id}", status_code=303)

    @get("/ari-events")
    async def ari_events(self, request: Request, event_type: str | None = None, channel: str | None = None,
                         call: UUID | None = None,
                         before: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        found = await events.list_ari_events(db_pool(request), current_user(request).id, call_id=call, limit=200,
                                             before_id=before, **_filters(event_type, channel))
        return await page(request, "ari_events.html", ari_events=found, event_type=event_type or "", channel=channel or "",
                          call_filter=call, older=found[0].id if len(found) == 200 else None)
