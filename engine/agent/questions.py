"""Asking the task's owner mid-call (HITL) while the callee waits on the line."""

from __future__ import annotations

from typing import Any, Protocol

from engine.agent.options import AgentSessionOptions
from engine.agent.task import AgentTask
from engine.agent.tools import ToolRecords
from engine.clock import Clock
from engine.ports.agent import PendingQuestion
from engine.ports.owner_questions import UserInfoBroker, UserQuestion

REASSURE = "In one short sentence, tell the callee you are still checking and thank them for waiting."


class QuestionHost(Protocol):
    """The parts of the live call a question needs (`engine.agent.control.LiveQuestionHost`)."""

    @property
    def call_over(self) -> bool: ...

    @property
    def line_quiet(self) -> bool:
        """Nobody speaks and no response is under way."""

    async def add_context(self, text: str) -> None: ...

    async def create_response(self, instructions: str | None = None) -> None: ...

    async def end_call(self, reason: str) -> None: ...

    async def event(self, kind: str, message: str, data: dict[str, Any] | None = None) -> None: ...


class UserQuestions:
    """The call's questions to the owner; `asking` is True while one waits for its answer."""

    def __init__(
        self,
        host: QuestionHost,
        broker: UserInfoBroker,
        task: AgentTask,
        call_id: str,
        records: ToolRecords,
        clock: Clock,
        options: AgentSessionOptions,
    ) -> None:
        self._host = host
        self._broker = broker
        self._task = task
        self._call_id = call_id
        self._records = records
        self._clock = clock
        self._options = options
        self.asking = False

    async def ask(self, question: str, timeout_s: float) -> None:
        """Runs as its own task: ask, keep the callee company, then act on the answer or its absence."""
        self.asking = True
        self._records.pending_question = PendingQuestion(question)
        user = self._task.user_name
        await self._host.event(
            "hitl_asked", f"asked {user}: {question}", {"question": question, "timeout_s": timeout_s}
        )
        try:
            answer = await self._broker.ask(UserQuestion(self._task.task_id, self._call_id, question), timeout_s)
        finally:
            self.asking = False
        if self._host.call_over:
            return
        if answer is not None:
            self._records.pending_question = None
            self._records.user_answers.append((question, answer))
            await self._host.event(
                "hitl_answered", f"{user} answered: {answer}", {"question": question, "answer": answer}
            )
            await self._host.add_context(
                f'{user} answered your question "{question}": {answer}\nContinue the conversation with this answer.'
            )
            await self._host.create_response()
            return
        await self._host.event("hitl_timeout", f"no answer from {user} in time", {"question": question})
        await self._host.add_context(
            f"{user} could not answer in time. Tell the callee politely that you will call back "
            "once you have the answer, say goodbye, then call end_call."
        )
        await self._host.create_response()
        await self._clock.sleep(self._options.hitl_give_up_grace_s)
        await self._host.end_call("no answer from the user")

    async def reassure(self) -> None:
        """Runs as its own task while `asking`: a short 'still checking' now and then."""
        while True:
            await self._clock.sleep(self._options.hitl_reassure_every_s)
            if self.asking and self._host.line_quiet:
                await self._host.create_response(REASSURE)
