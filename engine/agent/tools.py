"""The agent's tools: typed, documented async functions over a per-call context.

Arguments are validated by a pydantic model per tool before anything acts;
a `ToolError` (or invalid arguments) becomes `{"error": ...}` for the model and
never ends the call.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.agent.task import AgentTask, MachinePolicy
from engine.ports.agent import CallbackRequest, ObjectiveResult, PendingQuestion
from engine.ports.voice_model import ToolSpec

MAX_DTMF_DIGITS = 24
MAX_CALLBACK_DAYS = 60


class ToolError(Exception):
    """A refusal the model is shown, so it can correct itself."""


class CallControl(Protocol):
    """What tools may do to the live call (`engine.agent.control.LiveCallControl`)."""

    async def end_call(self, reason: str) -> None:
        """Hang up once everything said so far has been played."""

    async def send_dtmf(self, digits: str) -> None: ...

    def ask_user(self, question: str, timeout_s: float) -> None:
        """Start asking the task's owner in the background."""

    @property
    def asking_user(self) -> bool: ...


@dataclass(slots=True)
class ToolRecords:
    """What the tools established during the call; the session puts it in the `CallReport`."""

    objective: ObjectiveResult | None = None
    callback: CallbackRequest | None = None
    pending_question: PendingQuestion | None = None  # asked the user, no answer in time
    user_answers: list[tuple[str, str]] = field(default_factory=list)  # (question, answer)
    answering_machine: bool = False
    voicemail_left: bool = False
    dtmf_sent: list[str] = field(default_factory=list)
    end_reason: str | None = None


@dataclass(slots=True)
class ToolContext:
    task: AgentTask
    control: CallControl
    records: ToolRecords
    now: Callable[[], datetime]
    hitl_timeout_s: float


@dataclass(frozen=True, slots=True)
class ToolResult:
    output: dict[str, Any]
    respond: bool = True  # ask the model to speak after the output is added


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndCallArgs(_Args):
    reason: Annotated[str, Field(min_length=1, max_length=200, description="Why the call ends, in a few words.")]


class SendDtmfArgs(_Args):
    digits: Annotated[
        str, Field(pattern=rf"^[0-9*#]{{1,{MAX_DTMF_DIGITS}}}$", description="Keys to press: 0-9, * and #.")
    ]


class RequestUserInfoArgs(_Args):
    question: Annotated[str, Field(min_length=3, max_length=300, description="One precise question for the user.")]
    timeout_seconds: Annotated[int, Field(ge=10, le=600, description="How long the callee can reasonably wait.")] = 45
    recipient_message: Annotated[
        str, Field(max_length=200, description="What to tell the callee while you check, e.g. 'One moment please.'")
    ] = ""


class ScheduleCallbackArgs(_Args):
    local_time: Annotated[
        str | None, Field(description="Date and time in time_zone, without an offset, e.g. 2026-03-04T15:30.")
    ] = None
    time_zone: Annotated[
        str | None, Field(description="IANA time zone name of local_time, e.g. America/New_York.")
    ] = None
    when: Annotated[
        str | None,
        Field(description="Instead of local_time and time_zone: ISO 8601 with a UTC offset, e.g. 2026-03-04T15:30:00+01:00."),
    ] = None
    note: Annotated[str, Field(max_length=300, description="Who to ask for, what was agreed.")] = ""


class RecordOutcomeArgs(_Args):
    achieved: Annotated[bool, Field(description="Whether the objective was met.")]
    summary: Annotated[str, Field(min_length=1, max_length=600, description="What happened, in one or two sentences.")]
    facts_learned: Annotated[
        list[Annotated[str, Field(max_length=200)]], Field(max_length=10, description="New facts, one per entry.")
    ] = []
    do_not_call: Annotated[bool, Field(description="The callee asked not to be called again.")] = False
    wrong_number: Annotated[bool, Field(description="This number does not reach the intended callee.")] = False


class AnsweringMachineArgs(_Args):
    evidence: Annotated[str, Field(max_length=200, description="What you heard: a greeting, a beep.")] = ""


async def end_call(ctx: ToolContext, args: EndCallArgs) -> ToolResult:
    """End the call after your goodbye has been played. Say goodbye first, then call this."""
    ctx.records.end_reason = args.reason
    await ctx.control.end_call(args.reason)
    return ToolResult({"ok": True}, respond=False)


async def send_dtmf(ctx: ToolContext, args: SendDtmfArgs) -> ToolResult:
    """Press keys on the phone keypad, e.g. to navigate a phone menu."""
    await ctx.control.send_dtmf(args.digits)
    ctx.records.dtmf_sent.append(args.digits)
    return ToolResult({"sent": args.digits}, respond=False)


async def request_user_info(ctx: ToolContext, args: RequestUserInfoArgs) -> ToolResult:
    """Ask the person you call for a fact you lack. Keep the callee on the line meanwhile."""
    if ctx.control.asking_user:
        raise ToolError("a question to the user is already open; wait for its answer")
    ctx.control.ask_user(args.question, min(args.timeout_seconds, ctx.hitl_timeout_s))
    say = args.recipient_message or "One moment please, let me check that."
    return ToolResult({"status": f"asking {ctx.task.user_name}", "tell_the_callee": say})


async def schedule_callback(ctx: ToolContext, args: ScheduleCallbackArgs) -> ToolResult:
    """Note a time the callee asked to be called back: local_time and time_zone (or when, with an offset)."""
    at = _callback_time(args)
    now = ctx.now()
    if at <= now:
        raise ToolError(f"the callback time must be in the future; it is now {now.astimezone(at.tzinfo).isoformat()}")
    if at > now + timedelta(days=MAX_CALLBACK_DAYS):
        raise ToolError(f"the callback time must be within {MAX_CALLBACK_DAYS} days")
    ctx.records.callback = CallbackRequest(at.astimezone(now.tzinfo), args.note)
    return ToolResult({"scheduled_for": at.isoformat()})


def _callback_time(args: ScheduleCallbackArgs) -> datetime:
    local = args.local_time is not None or args.time_zone is not None
    if local == (args.when is not None):
        raise ToolError("give either local_time and time_zone, or when (with a UTC offset)")
    if args.when is not None:
        try:
            at = datetime.fromisoformat(args.when)
        except ValueError as exc:
            raise ToolError("when must be an ISO 8601 date and time, e.g. 2026-03-04T15:30:00+01:00") from exc
        if at.tzinfo is None:
            raise ToolError("when needs a UTC offset, e.g. +01:00; or give local_time and time_zone")
        return at
    if args.local_time is None:
        raise ToolError("local_time is missing, e.g. 2026-03-04T15:30")
    if args.time_zone is None:
        raise ToolError("time_zone is missing, e.g. America/New_York")
    try:
        zone = ZoneInfo(args.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"time_zone {args.time_zone!r} is not a time zone; use an IANA name such as Europe/Berlin") from None
    try:
        naive = datetime.fromisoformat(args.local_time)
    except ValueError as exc:
        raise ToolError("local_time must be an ISO 8601 date and time, e.g. 2026-03-04T15:30") from exc
    if naive.tzinfo is not None:
        raise ToolError("local_time must be without an offset; the zone comes from time_zone")
    at = naive.replace(tzinfo=zone)
    if at.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ToolError(f"{args.local_time} does not exist in {args.time_zone} (the clocks change then)")
    return at


async def record_outcome(ctx: ToolContext, args: RecordOutcomeArgs) -> ToolResult:
    """Record whether the objective was achieved, before ending the call."""
    ctx.records.objective = ObjectiveResult(
        args.achieved, args.summary, tuple(args.facts_learned), args.do_not_call, args.wrong_number
    )
    return ToolResult({"recorded": True}, respond=False)


async def answering_machine_detected(ctx: ToolContext, args: AnsweringMachineArgs) -> ToolResult:
    """Call this as soon as you hear a voicemail greeting or a beep instead of a person."""
    ctx.records.answering_machine = True
    if ctx.task.machine_policy is MachinePolicy.HANG_UP:
        ctx.records.end_reason = "answering machine"
        await ctx.control.end_call("answering machine")
        return ToolResult({"action": "hanging up"}, respond=False)
    ctx.records.voicemail_left = True
    text = ctx.task.voicemail_text()
    return ToolResult({"action": "leave a message", "say_exactly": text, "then": "call end_call"})


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    args: type[_Args]
    run: Callable[[ToolContext, Any], Awaitable[ToolResult]]

    @property
    def spec(self) -> ToolSpec:
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return ToolSpec(self.name, (self.run.__doc__ or "").strip(), schema)


ALL_TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("end_call", EndCallArgs, end_call),
        Tool("send_dtmf", SendDtmfArgs, send_dtmf),
        Tool("request_user_info", RequestUserInfoArgs, request_user_info),
        Tool("schedule_callback", ScheduleCallbackArgs, schedule_callback),
        Tool("record_outcome", RecordOutcomeArgs, record_outcome),
        Tool("answering_machine_detected", AnsweringMachineArgs, answering_machine_detected),
    )
}


@dataclass(slots=True)
class ToolInvocation:
    output: str  # JSON text for the model
    respond: bool
    ok: bool
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


async def invoke_tool(tools: dict[str, Tool], name: str, arguments: str, ctx: ToolContext) -> ToolInvocation:
    """Validate and run one tool call; every failure becomes an error output."""
    tool = tools.get(name)
    if tool is None:
        return _error(f"unknown tool {name!r}; available: {', '.join(sorted(tools))}")
    try:
        args = tool.args.model_validate_json(arguments or "{}")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        return _error(f"invalid arguments: {problems}")
    try:
        result = await tool.run(ctx, args)
    except ToolError as exc:
        return _error(str(exc))
    return ToolInvocation(json.dumps(result.output), result.respond, ok=True)


# A response the callee interrupted may still deliver its tool calls (the service finishes their
# arguments after the cancel). What only records data is kept; nothing acts on the call.
KEPT_WHEN_INTERRUPTED = frozenset({"schedule_callback", "record_outcome"})
NOT_RUN = "the callee interrupted you before this took effect, so it was not run"


async def invoke_interrupted_tool(
    tools: dict[str, Tool], name: str, arguments: str, ctx: ToolContext
) -> ToolInvocation:
    """A tool call of an interrupted response: run if kept, else refused. Never asks for a response
    (the callee's speech gets its own)."""
    if name in KEPT_WHEN_INTERRUPTED:
        result = await invoke_tool(tools, name, arguments, ctx)
    else:
        result = _error(f"{name} was not run: {NOT_RUN}. Listen to the callee; call it again if still needed.")
        result.error = NOT_RUN
    result.respond = False
    return result


def _error(message: str) -> ToolInvocation:
    return ToolInvocation(json.dumps({"error": message}), respond=True, ok=False, error=message)
