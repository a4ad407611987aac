"""Human in the loop through the whole stack: the model asks the task's owner mid-call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from db import events, hitl, tasks
from db.models import HitlRequest, Task
from db.pool import create_pool
from engine.hitl import AnswerOutcome, HitlService, RefusalReason, answer_question
from engine.settings import Settings
from tests.e2e.harness import TALKER, RunningNode
from tests.e2e.scenes import NeedsTheOwner

QUESTION = "Is Thursday at 3 pm fine for Ada?"
ANSWER = "Yes, Thursday at 3 pm is fine"
OBJECTIVE = "Book Ada's cleaning for Thursday afternoon"


def notes(running: RunningNode, session: int | None = None) -> list[str]:
    sessions = running.model.sessions if session is None else [running.model.sessions[session]]
    items = [e["item"] for s in sessions for e in s.received if e.get("type") == "conversation.item.create"]
    return [i["content"][0]["text"] for i in items if i.get("type") == "message"]


async def question_of(running: RunningNode, task: Task, status: str = "open") -> HitlRequest:
    async def asked() -> HitlRequest | None:
        found = [r for r in await hitl.list_requests(running.pool, task.user_id, task_id=task.id) if r.status == status]
        return found[0] if found else None

    return await running.tap.until(asked, 30, f"a question in state {status} on task {task.id}")


@asynccontextmanager
async def second_node(database_url: str) -> AsyncIterator[tuple[Any, HitlService]]:
    """What the web app on another engine node has: its own pool and its own HITL service."""
    pool = await create_pool(database_url, size=2)
    service = HitlService.from_settings(Settings(_env_file=None, database_url=database_url), pool, database_url)
    await service.start()
    try:
        yield pool, service
    finally:
        await service.close()
        await pool.close()


def hitl_service(running: RunningNode) -> HitlService:
    return next(c for c in running.node.components if isinstance(c, HitlService))


async def test_an_answer_from_another_node_reaches_the_live_call_and_it_concludes(make_node, own_database_url):
    running = await make_node()
    scene = NeedsTheOwner(QUESTION)
    running.script(scene)
    user = await running.user("Ada")
    task = await running.schedule(user, TALKER, OBJECTIVE, callee_name="Smile Dental")

    async with second_node(own_database_url) as (other_pool, other_hitl):
        question = await question_of(running, task)
        assert question.question == QUESTION and question.call_id is not None
        assert (await tasks.get_task(running.pool, user.id, task.id)).status == "in_call"
        assert question.id in hitl_service(running).listener.watched and not other_hitl.listener.watched
        result = await answer_question(other_pool, user.id, question.id, ANSWER)
        assert result.outcome is AnswerOutcome.DELIVERED, result

    done = await running.wait_for_task(task)
    await running.settle()

    # The answer reached the model as a conversation item, and the model finished the call with it.
    assert f'answered your question "{QUESTION}": {ANSWER}' in "\n".join(notes(running))
    assert done.status == "succeeded", done
    assert done.result["summary"] == "Booked Thursday at 3 pm, as Ada confirmed"
    [call] = await running.calls_of(done)
    assert (call.outcome, call.hangup_by, call.id) == ("answered", "agent", question.call_id)
    stored = await hitl.get_request(running.pool, user.id, question.id)
    assert (stored.status, stored.answer) == ("answered", ANSWER)
    steps = {e.kind: e.message for e in await events.list_call_events(running.pool, user.id, call.id)}
    assert not {"voice_error", "agent_failure"} & set(steps), steps
    assert steps["hitl_asked"] == f"asked Ada: {QUESTION}"
    assert steps["hitl_answered"] == f"Ada answered: {ANSWER}"
    assert len(running.model.sessions) == 1  # one call, one voice session
    assert running.pbx.leftovers() == {"channels": [], "bridges": []}


async def test_no_answer_ends_the_call_politely_and_a_later_answer_calls_back_with_it(make_node):
    running = await make_node(hitl_timeout_s=5, hitl_timeout_min_s=5)
    scene = NeedsTheOwner(QUESTION, timeout_s=10, known_answer=ANSWER)
    running.script(scene)
    user = await running.user("Ada")
    task = await running.schedule(user, TALKER, OBJECTIVE, callee_name="Smile Dental")

    # Nobody answers: the question expires, the agent says it will call back and hangs up.
    parked = await running.wait_for_task(task, timeout=60)
    await running.settle()
    assert parked.status == "pending_user_info", parked
    expired = await question_of(running, task, status="expired")
    [first_call] = await running.calls_of(parked)
    assert (first_call.outcome, first_call.hangup_by) == ("answered", "agent")
    assert "I will call you back once I know. Goodbye!" in scene.said
    assert any("could not answer in time" in note for note in notes(running, 0))
    steps = [e.kind for e in await events.list_call_events(running.pool, user.id, first_call.id)]
    assert "hitl_timeout" in steps and "hitl_answered" not in steps

    # The owner answers later, for the next call: a new attempt is scheduled and dialled at once.
    late = await answer_question(running.pool, user.id, expired.id, ANSWER)
    assert late.reason is RefusalReason.EXPIRED and late.can_answer_for_next_call
    result = await answer_question(running.pool, user.id, expired.id, ANSWER, for_next_call=True)
    assert result.outcome is AnswerOutcome.CALLBACK_SCHEDULED, result

    done = await running.wait_for_task(task, after_calls=1, timeout=60)
    await running.settle()
    assert done.status == "succeeded", done
    assert done.attempt_count == 2
    second_call = (await running.calls_of(done))[-1]
    assert second_call.id != first_call.id and second_call.attempt == 2
    [update] = [e for e in running.model.sessions[-1].received if e["type"] == "session.update"]
    earlier = update["session"]["instructions"].split("# From earlier attempts\n", 1)[1]
    assert ANSWER in earlier, earlier
    to_statuses = [e.to_status for e in await events.list_task_events(running.pool, user.id, task.id)]
    assert to_statuses == ["scheduled", "dialing", "in_call", "pending_user_info", "scheduled", "dialing", "in_call",
                           "succeeded"], to_statuses
    assert running.pbx.leftovers() == {"channels": [], "bridges": []}
