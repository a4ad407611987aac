"""Owner answers carried between attempts: stored in `tasks.context["user_answers"]`,
read back into the next call's instructions (`carried_answers`, used by `engine.agent.runner`).

One entry per answer: {request_id, call_id, question, answer, at, after_call}.
`after_call` marks an answer no live call heard: the next call is a call back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from db.models import HitlRequest

CONTEXT_KEY = "user_answers"


def answer_entry(request: HitlRequest, answer: str, at: datetime, *, after_call: bool) -> dict[str, Any]:
    return {
        "request_id": str(request.id),
        "call_id": str(request.call_id) if request.call_id else None,
        "question": request.question,
        "answer": answer,
        "at": at.isoformat(),
        "after_call": after_call,
    }


def carried_answers(context: Mapping[str, Any], user_name: str) -> tuple[str, ...]:
    """Lines for `AgentTask.carried_context`, oldest first; malformed entries are skipped."""
    lines = []
    for entry in context.get(CONTEXT_KEY) or ():
        if not isinstance(entry, Mapping):
            continue
        question, answer = entry.get("question"), entry.get("answer")
        if not isinstance(question, str) or not isinstance(answer, str):
            continue
        if entry.get("after_call"):
            lines.append(
                f'After the last call, {user_name} answered your open question "{question}": {answer}. '
                "This call is a call back with that answer: after the greeting, say you are calling back "
                f'and give it (e.g. "I\'m calling back about your question: {answer}").'
            )
        else:
            lines.append(f'During an earlier call, {user_name} answered "{question}": {answer}')
    return tuple(lines)
