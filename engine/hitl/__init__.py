"""Human in the loop: the agent asks the task's owner while the callee waits.

- `HitlService`: the node's component (start/close); owns the `HitlListener` (one LISTEN
  connection per node) and makes a `PostgresUserInfoBroker` per call with `broker(user_id)`.
- `PostgresUserInfoBroker`: the agent's `UserInfoBroker`, one per call, bound to the owner.
- `answer_question`: what the web app calls when the owner answers; returns an `AnswerResult`.
- `park_for_user_info`: in_call -> pending_user_info after a call left a question open (the
  lifecycle's `apply_verdict` parks tasks through it): opens the owner's question, or schedules
  at once, carrying the answer, if the answer raced the end of the call.
- `carried_answers`: the stored answers as lines for the next call's instructions.
- `QuestionPolicy`: default timeout and its bounds (see `engine.hitl.policy` for why 45 s).
"""

from engine.hitl.answers import (
    AnswerOutcome,
    AnswerResult,
    NextOpening,
    RefusalReason,
    answer_question,
    call_now,
    park_for_user_info,
)
from engine.hitl.broker import PostgresUserInfoBroker
from engine.hitl.carried import carried_answers
from engine.hitl.listener import HitlListener, Watch
from engine.hitl.policy import QuestionPolicy, QuestionRefused
from engine.hitl.service import HitlService

__all__ = [
    "AnswerOutcome",
    "AnswerResult",
    "HitlListener",
    "HitlService",
    "NextOpening",
    "PostgresUserInfoBroker",
    "QuestionPolicy",
    "QuestionRefused",
    "RefusalReason",
    "Watch",
    "answer_question",
    "call_now",
    "carried_answers",
    "park_for_user_info",
]
