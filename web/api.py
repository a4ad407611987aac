"""The JSON API: campaigns, tasks, calls, events and HITL questions (OpenAPI at /schema).

Reads accept a session cookie or an API token; changes need an API token.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Parameter

from db import calls, campaigns, events, hitl, tasks, transcripts
from db.errors import InvalidInput
from db.models import AriEvent, Call, CallEvent, Campaign, HitlRequest, Task, TaskEvent, TranscriptTurn
from db.tasks import TaskDraft
from engine.hitl import AnswerResult, RefusalReason, answer_question
from engine.tasks.campaigns import create_campaign_with_tasks
from engine.tasks.constraints import check_constraints
from web import services
from web.auth import api_caller, current_user, db_pool
from web.forms import CampaignCreate, HitlAnswer, TaskCreate, TaskUpdate

# Paging: refused (400) outside these bounds; at most 500 rows (5000 ARI events) per page whatever `limit` says.
Limit = Annotated[int, Parameter(ge=1, le=1_000_000, description="rows per page")]
Offset = Annotated[int, Parameter(ge=0, le=1_000_000_000, description="rows to skip")]
BeforeId = Annotated[int | None, Parameter(ge=1, le=2**63 - 1, description="only events older than this id")]


class CampaignDetail(msgspec.Struct, kw_only=True):
    campaign: Campaign
    tasks: list[Task]


def _uid(request: Request) -> int:
    return current_user(request).id


def _draft(data: TaskCreate | TaskUpdate, *, check: bool = True) -> TaskDraft:
    """The draft, its constraints checked by the one schema (ConstraintError: 422 naming the field).

    A campaign's drafts are checked by `create_campaign_with_tasks`, which names the task too.
    """
    constraints = check_constraints(data.constraints) if check else data.constraints
    return TaskDraft(phone_number=data.phone_number, objective=data.objective, callee_name=data.callee_name, facts=data.facts,
                     success_criteria=data.success_criteria, constraints=constraints,
                     max_attempts=data.max_attempts, priority=data.priority, greet_first=data.greet_first,
                     voicemail=data.voicemail, voice_provider=data.voice_provider)


def _schedule(data: TaskCreate) -> Any:
    if data.schedule_at is not None and data.schedule_at.tzinfo is None:
        raise InvalidInput("schedule_at", "needs a time zone, such as 2030-01-08T15:00:00+01:00 or ...Z")
    return None if data.draft else max(data.schedule_at or services.now(), services.now())


class CampaignApi(Controller):
    path = "/api/campaigns"
    guards = [api_caller]
    tags = ["campaigns"]

    @get("/")
    async def list_campaigns(self, request: Request, limit: Limit = 100, offset: Offset = 0) -> list[Campaign]:
        return await campaigns.list_campaigns(db_pool(request), _uid(request), limit=min(limit, 500), offset=offset)

    @post("/")
    async def create_campaign(self, request: Request, data: CampaignCreate) -> CampaignDetail:
        """A campaign and all of its tasks, or nothing: 400 with `errors` (task index, field, message) per bad task;
        422 over the tasks-per-campaign quota, 429 over the campaigns-per-day quota."""
        campaign, created = await create_campaign_with_tasks(
            db_pool(request), _uid(request), title=data.title, request=data.request,
            drafts=[_draft(t, check=False) for t in data.tasks], schedules=[_schedule(t) for t in data.tasks],
            quota=services.campaign_quota(request.app.state.node.settings),
        )
        return CampaignDetail(campaign=campaign, tasks=created)

    @get("/{campaign_id:uuid}")
    async def get_campaign(self, request: Request, campaign_id: UUID) -> CampaignDetail:
        campaign = await campaigns.get_campaign(db_pool(request), _uid(request), campaign_id)
        return CampaignDetail(campaign=campaign, tasks=await tasks.list_tasks(db_pool(request), _uid(request), campaign_id=campaign_id))


class TaskApi(Controller):
    path = "/api/tasks"
    guards = [api_caller]
    tags = ["tasks"]

    @get("/")
    async def list_tasks(self, request: Request, status: str | None = None, q: str | None = None,
                         campaign_id: UUID | None = None, limit: Limit = 100, offset: Offset = 0) -> list[Task]:
        return await tasks.list_tasks(db_pool(request), _uid(request), status=status, search=q, campaign_id=campaign_id,
                                      limit=min(limit, 500), offset=offset)

    @post("/")
    async def create_task(self, request: Request, data: TaskCreate) -> Task:
        return await tasks.create_task(db_pool(request), _uid(request), _draft(data), campaign_id=data.campaign_id,
                                       schedule_at=_schedule(data))

    @get("/{task_id:uuid}")
    async def get_task(self, request: Request, task_id: UUID) -> Task:
        return await tasks.get_task(db_pool(request), _uid(request), task_id)

    @put("/{task_id:uuid}")
    async def update_task(self, request: Request, task_id: UUID, data: TaskUpdate) -> Task:
        return await tasks.update_task(db_pool(request), _uid(request), task_id, _draft(data))

    @post("/{task_id:uuid}/cancel", status_code=200)
    async def cancel_task(self, request: Request, task_id: UUID) -> Task:
        return await services.cancel_task(db_pool(request), _uid(request), task_id)

    @post("/{task_id:uuid}/call-now", status_code=200)
    async def call_now(self, request: Request, task_id: UUID) -> Task:
        return await services.call_now(db_pool(request), _uid(request), task_id)

    @get("/{task_id:uuid}/events")
    async def task_events(self, request: Request, task_id: UUID) -> list[TaskEvent]:
        await tasks.get_task(db_pool(request), _uid(request), task_id)  # 404 for another user's task
        return await events.list_task_events(db_pool(request), _uid(request), task_id)


class CallApi(Controller):
    path = "/api/calls"
    guards = [api_caller]
    tags = ["calls"]

    @get("/")
    async def list_calls(self, request: Request, task_id: UUID | None = None, limit: Limit = 100, offset: Offset = 0) -> list[Call]:
        return await calls.list_calls(db_pool(request), _uid(request), task_id=task_id, limit=min(limit, 500), offset=offset)

    @get("/{call_id:uuid}")
    async def get_call(self, request: Request, call_id: UUID) -> Call:
        return await calls.get_call(db_pool(request), _uid(request), call_id)

    @get("/{call_id:uuid}/transcript")
    async def transcript(self, request: Request, call_id: UUID) -> list[TranscriptTurn]:
        await calls.get_call(db_pool(request), _uid(request), call_id)
        return await transcripts.list_turns(db_pool(request), _uid(request), call_id)

    @get("/{call_id:uuid}/events")
    async def call_events(self, request: Request, call_id: UUID) -> list[CallEvent]:
        await calls.get_call(db_pool(request), _uid(request), call_id)
        return await events.list_call_events(db_pool(request), _uid(request), call_id)

    @get("/{call_id:uuid}/ari-events")
    async def call_ari_events(self, request: Request, call_id: UUID, event_type: str | None = None,
                              channel_id: str | None = None) -> list[AriEvent]:
        await calls.get_call(db_pool(request), _uid(request), call_id)
        return await events.list_ari_events(db_pool(request), _uid(request), call_id=call_id, event_type=event_type,
                                            channel_id=channel_id, limit=5000)


class EventApi(Controller):
    path = "/api"
    guards = [api_caller]
    tags = ["events"]

    @get("/ari-events")
    async def ari_events(self, request: Request, call_id: UUID | None = None, event_type: str | None = None,
                         channel_id: str | None = None, before_id: BeforeId = None, limit: Limit = 500) -> list[AriEvent]:
        return await events.list_ari_events(db_pool(request), _uid(request), call_id=call_id, event_type=event_type,
                                            channel_id=channel_id, before_id=before_id, limit=min(limit, 5000))

    @get("/hitl")
    async def questions(self, request: Request, status: str | None = None, task_id: UUID | None = None) -> list[HitlRequest]:
        return await hitl.list_requests(db_pool(request), _uid(request), status=status, task_id=task_id)

    @get("/hitl/{request_id:uuid}")
    async def question(self, request: Request, request_id: UUID) -> HitlRequest:
        return await hitl.get_request(db_pool(request), _uid(request), request_id)

    @post("/hitl/{request_id:uuid}/answer", status_code=200)
    async def answer(self, request: Request, request_id: UUID, data: HitlAnswer) -> AnswerResult:
        """Answer a question: delivered to the live call, or kept for the next call (`for_next_call`)."""
        result = await answer_question(db_pool(request), _uid(request), request_id, data.answer,
                                       for_next_call=data.for_next_call)
        if result.reason is RefusalReason.NOT_FOUND:
            raise NotFoundException("No such question.")
        if not result.accepted:
            raise ClientException(result.message, status_code=409,
                                  extra={"can_answer_for_next_call": result.can_answer_for_next_call})
        return result
