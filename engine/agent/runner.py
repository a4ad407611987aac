"""The lifecycle's `AgentRunner` over the live voice agent (`engine.agent`).

`prepare()` runs as soon as the phone rings: it builds the agent's task from
the stored one and starts the call session, which opens the voice-model
session at once and waits for the answer, so the greeting is ready when the
callee picks up. `run()` returns the session's `CallReport` and observes its
latencies in the Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from db import users
from db.models import Call, Task, User
from engine import metrics
from engine.agent.options import AgentSessionOptions
from engine.agent.recorder import DatabaseCallRecorder
from engine.agent.session import AgentCallSession
from engine.agent.task import AgentTask, MachinePolicy
from engine.clock import Clock
from engine.hitl import HitlService, carried_answers
from engine.ports.agent import CallReport
from engine.ports.call_record import CallRecorder
from engine.ports.telephony import AudioFormat, OutboundCall
from engine.ports.voice_model import VoiceModel, VoiceModels
from engine.settings import Settings
from engine.tasks.calling_window import callee_time_zone


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip(" -•\t") for line in text.splitlines() if line.strip(" -•\t"))


def _describe_constraints(constraints: dict[str, Any]) -> tuple[str, ...]:
    described = []
    window = constraints.get("window")
    if isinstance(window, dict) and window.get("start") and window.get("end"):
        described.append(f"Only agree to times between {window['start']} and {window['end']}.")
    if constraints.get("days"):
        described.append(f"Only agree to these days: {', '.join(map(str, constraints['days']))}.")
    notes = constraints.get("notes") or []
    described.extend(_lines(notes) if isinstance(notes, str) else (str(note) for note in notes))
    return tuple(described)


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def agent_task_for(task: Task, user: User) -> AgentTask:
    """What the agent needs to know about a stored task, on behalf of its owner."""
    constraints = task.constraints or {}
    policy = task.voicemail
    carried = []
    if task.context.get("strategy_instructions"):
        carried.append(str(task.context["strategy_instructions"]))
    owner_zone = user.time_zone if _is_zone(user.time_zone) else "UTC"
    stated = str(constraints.get("time_zone") or "")  # the task's own zone, as its calling window uses it
    callee_zone = stated if _is_zone(stated) else callee_time_zone(task.phone_number, owner_zone).key
    agent_task = AgentTask(
        task_id=str(task.id),
        user_name=user.display_name or user.email.split("@")[0],
        callee_name=task.callee_name or "the person who answers",
        phone=task.phone_number,
        objective=task.objective,
        facts=_lines(task.facts),
        constraints=_describe_constraints(constraints),
        success_criteria=_lines(task.success_criteria),
        carried_context=tuple(carried),
        machine_policy=MachinePolicy(policy) if policy in set(MachinePolicy) else MachinePolicy.HANG_UP,
        machine_message=str(constraints.get("machine_message", ""))[:500],
        callee_time_zone=callee_zone,
        owner_time_zone=owner_zone,
        greet_first=task.greet_first,
    )
    return with_carried_answers(agent_task, task.context)


def with_carried_answers(task: AgentTask, context: Mapping[str, Any]) -> AgentTask:
    """The agent task with the owner's stored answers (engine.hitl.carried) added to what it carries."""
    lines = carried_answers(context, task.user_name)
    if not lines:
        return task
    return dataclasses.replace(task, carried_context=(*task.carried_context, *lines))


def observe(report: CallReport) -> None:
    """The call's latencies into the node's Prometheus metrics."""
    if report.metrics is None:
        return
    if report.metrics.voice_provider:
        labels = {"provider": report.metrics.voice_provider, "model": report.metrics.voice_model}
        metrics.VOICE_CALLS.labels(**labels).inc()
        metrics.VOICE_COST.labels(**labels).inc(max(0.0, report.metrics.estimated_cost_usd))
    if report.metrics.time_to_first_audio_ms is not None:
        metrics.TIME_TO_FIRST_AGENT_AUDIO.observe(report.metrics.time_to_first_audio_ms / 1000)
    for latency in report.metrics.turn_latencies_ms:
        metrics.TURN_LATENCY.observe(latency / 1000)


class VoiceAgentSession:
    """The lifecycle's `AgentSession` for one call: the running `AgentCallSession`."""

    def __init__(self, session: AgentCallSession, model: VoiceModel | None = None) -> None:
        self._session = session
        self._model = model
        self._running = asyncio.create_task(session.run(), name=f"agent-call-{session.call.call_id}")

    async def run(self, call: OutboundCall) -> CallReport:
        report = await self._running
        if report.metrics is not None and self._model is not None:  # which provider and model served it
            report.metrics.voice_provider = getattr(self._model, "provider", "")
            report.metrics.voice_model = getattr(self._model, "model", "")
        observe(report)
        return report

    async def end_for_owner(self, reason: str) -> None:
        await self._session.end_for_owner(reason)

    async def aclose(self) -> None:
        if not self._running.done():
            self._running.cancel()
        await asyncio.gather(self._running, return_exceptions=True)


class VoiceAgentRunner:
    """The lifecycle's `AgentRunner`: one `AgentCallSession` per call, started while the phone rings."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        model: VoiceModel | VoiceModels,
        settings: Settings,
        hitl: HitlService,
        call_log: CallRecorder,
        *,
        detect_intercepts: bool = False,  # the network's SIT tones end a call at once
    ) -> None:
        self._detect_intercepts = detect_intercepts
        self._pool = pool
        self._call_log = call_log
        self._model = model
        self._hitl = hitl
        self._format = AudioFormat(settings.media_format.value)
        self._options = AgentSessionOptions.from_settings(settings)

    async def prepare(
        self, task: Task, call_row: Call, call: OutboundCall, *, clock: Clock | None = None,
        max_call_s: float | None = None,
    ) -> VoiceAgentSession:
        """`clock`: the call's time (a test call's transport paces on it); `max_call_s`: a tighter cap on
        the call's length than the installation's (where the agent wraps up politely)."""
        user = await users.get_user(self._pool, task.user_id)
        model = await self._model_for(task)
        options = dataclasses.replace(self._options, model_name=getattr(model, "model", self._options.model_name))
        if max_call_s is not None:
            options = dataclasses.replace(options, max_call_s=min(max_call_s, options.max_call_s or max_call_s))
        session = AgentCallSession(
            call,
            agent_task_for(task, user),
            model,
            media_format=self._format,
            recorder=DatabaseCallRecorder(self._call_log),
            broker=self._hitl.broker(task.user_id),
            options=options,
            clock=clock,
            detect_intercepts=self._detect_intercepts,
        )
        return VoiceAgentSession(session, model)

    async def _model_for(self, task: Task) -> VoiceModel:
        """The task's own provider when it names one, else the installation's."""
        if isinstance(self._model, VoiceModels):
            return await self._model.model_for(task.voice_provider)
        return self._model
