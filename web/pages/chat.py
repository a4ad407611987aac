"""The chat with the planning assistant, and the review of the plan it proposes."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from db import chats
from db.errors import InvalidInput
from engine.agent.test_call import TestCallRefused
from engine.agent.test_call import open_plan_test_call as open_test_call_of_plan
from engine.planner.chat import (
    ChatTurn,
    Plan,
    PlannedCall,
    PlannerError,
    UserContext,
    validate_plan,
    validate_planned_call,
)
from engine.tasks.campaigns import PlanRejected
from web import services
from web.auth import current_user, db_pool, signed_in
from web.forms import ChatForm, Form, local_input, parse_local_time
from web.rendering import page

PLAN_FIELDS = ("phone_number", "callee_name", "objective", "facts", "success_criteria", "earliest", "latest", "max_attempts", "notes",
               "voicemail")


def _context(user: Any) -> UserContext:
    p = user.profile
    return UserContext(display_name=user.display_name, time_zone=user.time_zone, callback_number=p.get("callback_number", ""),
                       about=p.get("about", ""), agent_notes=p.get("agent_notes", ""), now=services.now())


async def _chat_page(request: Request, conversation_id: UUID | None, status_code: int = 200, **extra: Any) -> Template:
    user, pool = current_user(request), db_pool(request)
    conversation = (await chats.get_conversation(pool, user.id, conversation_id) if conversation_id
                    else await chats.latest_conversation(pool, user.id))
    messages = await chats.list_messages(pool, user.id, conversation.id) if conversation else []
    plan = msgspec.convert(conversation.plan, Plan) if conversation and conversation.plan else None
    extra.setdefault("plan", plan)
    extra.setdefault("errors", {})
    tz = ZoneInfo(user.time_zone)
    return await page(request, "chat.html", status_code, conversation=conversation, messages=messages,
                      planner=request.app.state.planner.name, local_input=lambda v: local_input(v, tz), **extra)


MAX_PLAN_CALLS = 500  # the review page never shows more (the campaign quota is lower or equal)


def _plan_size(form: Any) -> int:
    """How many calls the review page sent (`count`); InvalidInput for anything but 0..MAX_PLAN_CALLS."""
    text = str(form.get("count", "0") or "0").strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_PLAN_CALLS:
        raise InvalidInput("count", f"must be a whole number from 0 to {MAX_PLAN_CALLS}")
    return int(text)


def _plan_from_form(form: Any, tz: ZoneInfo) -> tuple[Plan, dict[int, str]]:
    """The plan as the person edited it on the review page (times typed in their zone)."""
    calls, errors = [], {}
    for index in range(_plan_size(form)):
        if form.get(f"calls-{index}-remove"):
            continue
        call, error = _planned_call(form, index, tz)
        if error:
            errors[len(calls)] = error
        calls.append(call)
    return Plan(title=str(form.get("title", "")).strip() or "Phone errand", calls=calls), errors


def _planned_call(form: Any, index: int, tz: ZoneInfo) -> tuple[PlannedCall, str]:
    """One proposed call as edited on the review page, and what is wrong with its times ("" if nothing)."""
    values = {f: str(form.get(f"calls-{index}-{f}", "")) for f in PLAN_FIELDS}
    values["voicemail"] = values["voicemail"] or "hang_up"
    error = ""
    try:
        times = {k: parse_local_time(k, values[k], tz) for k in ("earliest", "latest")}
        attempts = int(values["max_attempts"] or 3)
    except (InvalidInput, ValueError) as exc:
        error = str(exc) if isinstance(exc, InvalidInput) else "max_attempts: must be a whole number"
        times, attempts = {"earliest": None, "latest": None}, 3
    provider = str(form.get(f"calls-{index}-voice_provider", "")) or None  # checked with the draft
    return PlannedCall(**{**values, "max_attempts": attempts, **{k: v.isoformat() if v else None for k, v in times.items()}},
                       voice_provider=provider), error


def _task_errors(exc: PlanRejected) -> dict[int, str]:
    """The engine's per-task errors, shown on each call of the review page (-1: the whole plan)."""
    errors: dict[int, str] = {}
    for e in exc.errors:
        index = -1 if e.field == "tasks" else e.index
        errors[index] = "; ".join(filter(None, [errors.get(index), f"{e.field}: {e.message}"]))
    return errors


async def _send(request: Request, conversation: chats.Conversation | None, message: str) -> Template | Redirect:
    """Ask the planner with the whole conversation; store the exchange only when it answered."""
    user, pool = current_user(request), db_pool(request)
    if conversation and conversation.campaign_id:  # a confirmed plan is closed: start a new conversation
        conversation = None
    shown = conversation.id if conversation else None
    text = message.strip()
    if not text or len(text) > 8000:
        return await _chat_page(request, shown, 400, error="Write a message (at most 8000 characters).", draft=text[:8000])
    history = [ChatTurn(role=m.role, content=m.content) for m in await chats.list_messages(pool, user.id, shown)] if shown else []
    try:
        reply = await request.app.state.planner.reply([*history, ChatTurn(role="user", content=text)], _context(user))
    except PlannerError as exc:
        return await _chat_page(request, shown, 502, error=str(exc), draft=text)
    conversation_id = await services.save_exchange(pool, user.id, shown, text, reply)
    return Redirect(f"/chat/{conversation_id}", status_code=303)


class ChatPages(Controller):
    guards = [signed_in]
    include_in_schema = False

    @get("/chat")
    async def chat(self, request: Request) -> Template:
        return await _chat_page(request, None)

    @get("/chat/{conversation_id:uuid}")
    async def conversation(self, request: Request, conversation_id: UUID) -> Template:
        return await _chat_page(request, conversation_id)

    @post("/chat/new")
    async def new_conversation(self, request: Request) -> Redirect:
        conversation = await chats.create_conversation(db_pool(request), current_user(request).id)
        return Redirect(f"/chat/{conversation.id}", status_code=303)

    @post("/chat/messages")
    async def start(self, request: Request, data: Annotated[ChatForm, Form]) -> Template | Redirect:
        """The first message of a new conversation."""
        return await _send(request, None, data.message)

    @post("/chat/{conversation_id:uuid}/messages")
    async def send(self, request: Request, conversation_id: UUID, data: Annotated[ChatForm, Form]) -> Template | Redirect:
        conversation = await chats.get_conversation(db_pool(request), current_user(request).id, conversation_id)
        return await _send(request, conversation, data.message)

    @post("/chat/{conversation_id:uuid}/confirm")
    async def confirm(self, request: Request, conversation_id: UUID) -> Template | Redirect:
        user, pool = current_user(request), db_pool(request)
        conversation = await chats.get_conversation(pool, user.id, conversation_id)
        plan, errors = _plan_from_form(await request.form(), ZoneInfo(user.time_zone))
        drafts, invalid = validate_plan(plan, services.now())
        errors = {**invalid, **errors}
        if errors or conversation.campaign_id:
            errors = errors or {-1: "This plan was already confirmed."}
            return await _chat_page(request, conversation.id, 400, plan=plan, errors=errors)
        try:
            campaign = await services.confirm_plan(pool, user.id, conversation.id, plan, drafts,
                                                   services.campaign_quota(request.app.state.node.settings))
        except PlanRejected as exc:
            return await _chat_page(request, conversation.id, 400, plan=plan, errors=_task_errors(exc))
        return Redirect(f"/?campaign={campaign.id}", status_code=303)

    @post("/chat/{conversation_id:uuid}/try")
    async def try_call(self, request: Request, conversation_id: UUID) -> Template | Redirect:
        """"Try it" on one proposed call: a test call of its agent, with no task or campaign created."""
        user, pool = current_user(request), db_pool(request)
        conversation = await chats.get_conversation(pool, user.id, conversation_id)
        form = await request.form()
        tz = ZoneInfo(user.time_zone)
        plan, _ = _plan_from_form(form, tz)
        text = str(form.get("try", "")).strip()
        index = int(text) if text.isascii() and text.isdigit() else -1
        if not 0 <= index < _plan_size(form):
            return await _chat_page(request, conversation.id, 400, plan=plan, errors={-1: "Choose a call to try."})
        call, error = _planned_call(form, index, tz)
        try:
            if error:
                raise InvalidInput("call", error)
            draft, _ = validate_planned_call(call, services.now())
            test_call = await open_test_call_of_plan(pool, user.id, draft, request.app.state.node.node_id,
                                                     conversation_id=conversation.id, index=index)
        except InvalidInput as exc:
            return await _chat_page(request, conversation.id, 400, plan=plan, errors={-1: f"Call {index + 1}: {exc}"})
        except TestCallRefused as exc:
            return await page(request, "error.html", status_code=429, title="No more test calls today", detail=str(exc))
        return Redirect(f"/test-calls/{test_call.id}", status_code=303)
