"""The chat planner: turns what a person asks for into a plan of calls, or asks for what is missing.

`Planner` is the interface the web app talks to. `OpenAIPlanner` uses a chat
model with structured output and optional tools (business lookup, web search);
`RulePlanner` is the fallback without a model: it only picks phone numbers out
of the conversation and asks for the number when there is none.

A plan is never trusted: `validate_plan` parses every number to E.164 and
checks every time, returning per-call errors for the review page.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
import phonenumbers
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from db.errors import InvalidInput
from db.tasks import TaskDraft, validate_draft

log = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 4


# --- what a plan is ------------------------------------------------------------


class PlannedCall(msgspec.Struct, kw_only=True):
    phone_number: str = ""
    callee_name: str = ""
    objective: str = ""
    facts: str = ""  # what the agent may share
    success_criteria: str = ""
    earliest: str | None = None  # ISO 8601 with offset; None: as soon as possible
    latest: str | None = None  # ISO 8601 with offset; None: no deadline
    max_attempts: int = 3
    notes: str = ""  # other constraints, in words
    voicemail: str = "hang_up"  # on an answering machine: leave_message | hang_up | call_back_later
    voice_provider: str | None = None  # realtime | live, only when the user asks for one; None: the default


class Plan(msgspec.Struct, kw_only=True):
    title: str
    calls: list[PlannedCall]


class PlannerReply(msgspec.Struct, kw_only=True):
    message: str  # what the assistant says to the person
    plan: Plan | None = None  # a complete plan ready for review; None while something is missing
    missing: list[str] = []  # what the assistant still needs to know


class ChatTurn(msgspec.Struct, kw_only=True):
    role: str  # "user" | "assistant"
    content: str


class UserContext(msgspec.Struct, kw_only=True):
    """What the assistant knows about the person (their profile), so it does not ask again."""

    display_name: str = ""
    time_zone: str = "UTC"
    callback_number: str = ""
    about: str = ""
    agent_notes: str = ""
    now: datetime = msgspec.field(default_factory=lambda: datetime.now(UTC))


class PlannerError(Exception):
    """The planner could not produce a reply (model unreachable, unusable answer)."""


class Planner(Protocol):
    name: str

    async def reply(self, history: list[ChatTurn], context: UserContext) -> PlannerReply: ...


class PlannerTool(Protocol):
    """A function the model may call while planning; enabled only when configured."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments

    async def run(self, arguments: dict[str, Any]) -> dict[str, Any]: ...


# --- settings ------------------------------------------------------------------


class PlannerSettings(BaseSettings):
    """Read when the app is built: OPENDEEP_PLANNER_MODEL, OPENDEEP_GOOGLE_PLACES_API_KEY, ..."""

    model_config = SettingsConfigDict(env_prefix="OPENDEEP_", env_file=".env", extra="ignore")

    planner_model: str = "gpt-5-mini"
    google_places_api_key: SecretStr | None = None
    google_places_base_url: str = "https://places.googleapis.com"
    brave_search_api_key: SecretStr | None = None
    brave_search_base_url: str = "https://api.search.brave.com"


def build_planner(*, openai_api_key: str | None, openai_base_url: str | None, settings: PlannerSettings | None = None) -> Planner:
    """The model planner when a key is configured, else the rule planner."""
    settings = settings or PlannerSettings()
    if not openai_api_key:
        return RulePlanner()
    from openai import AsyncOpenAI

    tools: list[PlannerTool] = []
    if settings.google_places_api_key:
        from engine.planner.tools.places import GooglePlacesLookup

        tools.append(GooglePlacesLookup(settings.google_places_api_key.get_secret_value(), settings.google_places_base_url))
    if settings.brave_search_api_key:
        from engine.planner.tools.web_search import WebSearch

        tools.append(WebSearch(settings.brave_search_api_key.get_secret_value(), settings.brave_search_base_url))
    client = AsyncOpenAI(api_key=openai_api_key, base_url=openai_base_url)
    return OpenAIPlanner(client, settings.planner_model, tools)


# --- the model planner -----------------------------------------------------------


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


_CALL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["phone_number", "callee_name", "objective", "facts", "success_criteria", "earliest", "latest",
                 "max_attempts", "notes", "voicemail", "voice_provider"],
    "properties": {
        "phone_number": {"type": "string", "description": "E.164, e.g. +14155550123"},
        "callee_name": {"type": "string"},
        "objective": {"type": "string", "description": "what the agent must get done on this call"},
        "facts": {"type": "string", "description": "what the agent may tell the callee"},
        "success_criteria": {"type": "string"},
        "earliest": {**_nullable("string"), "description": "ISO 8601 with offset, or null for now"},
        "latest": {**_nullable("string"), "description": "ISO 8601 with offset, or null"},
        "max_attempts": {"type": "integer"},
        "notes": {"type": "string"},
        "voicemail": {
            "type": "string", "enum": ["leave_message", "hang_up", "call_back_later"],
            "description": "on an answering machine: leave a short message after the beep, hang up, or hang up "
                           "and call back later",
        },
        "voice_provider": {
            "type": ["string", "null"],
            "enum": ["realtime", "live", None],
            "description": "the voice model: null (the default) unless the user asks for OpenAI Realtime or GPT-Live",
        },
    },
}
REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["message", "plan", "missing"],
    "properties": {
        "message": {"type": "string"},
        "missing": {"type": "array", "items": {"type": "string"}},
        "plan": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["title", "calls"],
                    "properties": {"title": {"type": "string"}, "calls": {"type": "array", "items": _CALL_SCHEMA}},
                },
            ]
        },
    },
}

SYSTEM_PROMPT = """You are OpenDeep's planning assistant. The person asks for errands to be done by phone;
an AI voice agent will place the calls. Turn the request into a plan: one call per callee, each with the
phone number, the callee's name, the objective, the facts the agent may share, constraints (earliest time,
deadline, attempts) and what counts as success.
Never guess: if a phone number, the objective or a needed fact is missing, set plan to null, list what is
missing and ask for it in message. Use the tools to look up a business's number and opening hours (or to
search the web) when you can. Times are ISO 8601 with the person's UTC offset and must be in the future.
The person: {person}
Now: {now} (time zone {tz})."""


class OpenAIPlanner:
    name = "model"

    def __init__(self, client: Any, model: str, tools: list[PlannerTool]) -> None:
        self._client = client
        self._model = model
        self._tools = {tool.name: tool for tool in tools}

    async def reply(self, history: list[ChatTurn], context: UserContext) -> PlannerReply:
        person = {k: v for k, v in msgspec.structs.asdict(context).items() if k != "now" and v}
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM_PROMPT.format(
                person=json.dumps(person, ensure_ascii=False), now=context.now.isoformat(), tz=context.time_zone)},
            *({"role": t.role, "content": t.content} for t in history),
        ]
        extra: dict[str, Any] = {}
        if self._tools:
            extra["tools"] = [
                {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in self._tools.values()
            ]
        for _ in range(MAX_TOOL_ROUNDS + 1):
            try:
                response = await self._client.chat.completions.create(
                    model=self._model,
                    messages=messages,
                    response_format={"type": "json_schema", "json_schema": {"name": "planner_reply", "strict": True, "schema": REPLY_SCHEMA}},
                    **extra,
                )
            except Exception as exc:  # the SDK's errors all mean: no reply this time
                raise PlannerError(f"the assistant is unavailable: {exc}") from exc
            message = response.choices[0].message
            if not message.tool_calls:
                return _decode_reply(message.content)
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(await self._run_tool(call))})
        raise PlannerError("the assistant kept calling tools without answering")

    async def _run_tool(self, call: Any) -> dict[str, Any]:
        tool = self._tools.get(call.function.name)
        if tool is None:
            return {"error": f"no tool named {call.function.name}"}
        try:
            arguments = json.loads(call.function.arguments or "{}")
            return await tool.run(arguments)
        except Exception as exc:  # the model sees the failure and can ask the person instead
            log.warning("planner tool %s failed: %s", tool.name, exc)
            return {"error": str(exc)}


def _decode_reply(content: str | None) -> PlannerReply:
    try:
        return msgspec.json.decode(content or "", type=PlannerReply)
    except msgspec.ValidationError as exc:
        raise PlannerError(f"the assistant's answer was not a usable plan: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise PlannerError("the assistant's answer was not a usable plan") from exc


# --- without a model ---------------------------------------------------------------


class RulePlanner:
    """No model configured: pick the numbers out of what the person wrote, ask when there is none."""

    name = "rules"

    async def reply(self, history: list[ChatTurn], context: UserContext) -> PlannerReply:
        said = [t.content for t in history if t.role == "user"]
        text = "\n".join(said)
        numbers = []
        for match in phonenumbers.PhoneNumberMatcher(text, None):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in numbers:
                numbers.append(e164)
        if not numbers:
            return PlannerReply(
                message="Which phone number should I call? Please write it with the country code, e.g. +1 415 555 0123.",
                missing=["phone_number"],
            )
        objective = said[0].strip() if said else ""
        calls = [PlannedCall(phone_number=n, objective=objective[:4000], max_attempts=3) for n in numbers]
        return PlannerReply(
            message=("No assistant model is configured, so I only picked out the number(s). "
                     "Check the objective and details below, then confirm."),
            plan=Plan(title=objective[:80] or "Phone errand", calls=calls),
        )


# --- checking a plan ------------------------------------------------------------------


def _parse_time(field: str, value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not a date and time") from None
    if parsed.tzinfo is None:
        raise InvalidInput(field, "needs a time zone offset")
    if parsed <= now:
        raise InvalidInput(field, "must be in the future")
    return parsed


def validate_planned_call(call: PlannedCall, now: datetime) -> tuple[TaskDraft, datetime]:
    """The task draft and its first attempt time, or InvalidInput naming the field."""
    earliest = _parse_time("earliest", call.earliest, now)
    latest = _parse_time("latest", call.latest, now)
    if earliest and latest and latest <= earliest:
        raise InvalidInput("latest", "must come after the earliest time")
    constraints: dict[str, Any] = {}
    if earliest:
        constraints["earliest"] = earliest.astimezone(UTC).isoformat()
    if latest:
        constraints["latest"] = latest.astimezone(UTC).isoformat()
    if call.notes.strip():
        constraints["notes"] = call.notes.strip()[:1000]
    draft = validate_draft(TaskDraft(
        phone_number=call.phone_number, callee_name=call.callee_name, objective=call.objective, facts=call.facts,
        success_criteria=call.success_criteria, constraints=constraints, max_attempts=call.max_attempts,
        voicemail=call.voicemail,
        voice_provider=call.voice_provider,
    ))
    return draft, earliest or now


def validate_plan(plan: Plan, now: datetime) -> tuple[list[tuple[TaskDraft, datetime]], dict[int, str]]:
    """Every call checked: the drafts when all are valid, else the errors by call index."""
    drafts, errors = [], {}
    if not plan.calls:
        errors[-1] = "the plan has no calls"
    for index, call in enumerate(plan.calls):
        try:
            drafts.append(validate_planned_call(call, now))
        except InvalidInput as exc:
            errors[index] = str(exc)
    return drafts, errors
