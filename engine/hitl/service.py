"""The node's HITL component: owns the LISTEN connection, makes one broker per call.

Wiring (in `engine.app.wiring.build_node`, after the database is open):

    hitl = HitlService.from_settings(settings, database.pool, database.url)
    node.components.append(hitl)          # node.start() starts it, node.stop() closes it
    ...
    broker = hitl.broker(task.user_id)    # per call, passed to AgentCallSession(broker=...)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg

from engine.clock import Clock
from engine.hitl.broker import PostgresUserInfoBroker
from engine.hitl.listener import HitlListener
from engine.hitl.policy import QuestionPolicy

if TYPE_CHECKING:
    from engine.settings import Settings


class HitlService:
    def __init__(self, pool: asyncpg.Pool, listener: HitlListener, policy: QuestionPolicy | None = None) -> None:
        self.pool = pool
        self.listener = listener
        self.policy = policy or QuestionPolicy()

    @classmethod
    def from_settings(cls, settings: Settings, pool: asyncpg.Pool, database_url: str) -> HitlService:
        return cls(pool, HitlListener.for_url(database_url), QuestionPolicy.from_settings(settings))

    async def start(self) -> None:
        await self.listener.start()

    async def close(self) -> None:
        await self.listener.close()

    def broker(
        self, user_id: int, *, clock: Clock | None = None, recipient_message: str = ""
    ) -> PostgresUserInfoBroker:
        """The `UserInfoBroker` of one call on a task owned by `user_id`."""
        return PostgresUserInfoBroker(
            self.pool, self.listener, user_id=user_id, policy=self.policy, clock=clock,
            recipient_message=recipient_message,
        )
