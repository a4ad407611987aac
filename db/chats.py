"""The planner chat: conversations, their messages and the plan they produced."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from db.errors import NotFound
from db.models import Executor, Row, columns
from db.validation import check_choice, check_length


class Conversation(Row):
    id: UUID
    user_id: int
    plan: dict[str, Any] | None
    campaign_id: UUID | None
    created_at: datetime
    updated_at: datetime


class ChatMessage(Row):
    id: int
    user_id: int
    conversation_id: UUID
    role: str
    content: str
    at: datetime


_CONVERSATION = columns(Conversation)
_MESSAGE = columns(ChatMessage)


async def create_conversation(conn: Executor, user_id: int) -> Conversation:
    record = await conn.fetchrow(
        f"INSERT INTO chat_conversations (user_id) VALUES ($1) RETURNING {_CONVERSATION}", user_id
    )
    return Conversation.from_record(record)


async def get_conversation(conn: Executor, user_id: int, conversation_id: UUID) -> Conversation:
    record = await conn.fetchrow(
        f"SELECT {_CONVERSATION} FROM chat_conversations WHERE id = $1 AND user_id = $2", conversation_id, user_id
    )
    if record is None:
        raise NotFound("conversation", conversation_id)
    return Conversation.from_record(record)


async def latest_conversation(conn: Executor, user_id: int) -> Conversation | None:
    record = await conn.fetchrow(
        f"""SELECT {_CONVERSATION} FROM chat_conversations WHERE user_id = $1
            ORDER BY updated_at DESC LIMIT 1""",
        user_id,
    )
    return Conversation.from_record(record)


async def add_message(conn: Executor, user_id: int, conversation_id: UUID, *, role: str, content: str) -> ChatMessage:
    check_choice("role", role, ("user", "assistant"))
    check_length("message", content, 8000, required=True)
    record = await conn.fetchrow(
        f"""WITH touched AS (
                UPDATE chat_conversations SET updated_at = now() WHERE id = $2 AND user_id = $1 RETURNING id)
            INSERT INTO chat_messages (user_id, conversation_id, role, content)
            SELECT $1, id, $3, $4 FROM touched RETURNING {_MESSAGE}""",
        user_id,
        conversation_id,
        role,
        content,
    )
    if record is None:
        raise NotFound("conversation", conversation_id)
    return ChatMessage.from_record(record)


async def list_messages(conn: Executor, user_id: int, conversation_id: UUID) -> list[ChatMessage]:
    records = await conn.fetch(
        f"""SELECT {_MESSAGE} FROM chat_messages WHERE conversation_id = $1 AND user_id = $2 ORDER BY id""",
        conversation_id,
        user_id,
    )
    return [ChatMessage.from_record(r) for r in records]


async def set_plan(conn: Executor, user_id: int, conversation_id: UUID, plan: dict[str, Any] | None) -> None:
    status = await conn.execute(
        "UPDATE chat_conversations SET plan = $3, updated_at = now() WHERE id = $1 AND user_id = $2",
        conversation_id,
        user_id,
        plan,
    )
    if status == "UPDATE 0":
        raise NotFound("conversation", conversation_id)


async def mark_confirmed(conn: Executor, user_id: int, conversation_id: UUID, campaign_id: UUID) -> None:
    """Link the campaign a plan became; refused (NotFound) when already confirmed."""
    status = await conn.execute(
        """UPDATE chat_conversations SET campaign_id = $3, updated_at = now()
           WHERE id = $1 AND user_id = $2 AND campaign_id IS NULL""",
        conversation_id,
        user_id,
        campaign_id,
    )
    if status == "UPDATE 0":
        raise NotFound("unconfirmed plan", conversation_id)
