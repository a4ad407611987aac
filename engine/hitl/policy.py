"""How long a callee is kept waiting for the owner's answer, and what a question may be.

Why 45 seconds by default (the first design used 10): the owner is not staring at the
inbox. A browser notification has to be noticed, the tab found, the question read and a
short answer typed; in practice that takes 15 to 40 seconds for someone at their desk,
and 10 seconds is barely enough to notice the notification. On the callee's side, about a
minute on hold is acceptable when the agent says "still checking" every 20 seconds
(`AgentSessionOptions.hitl_reassure_every_s`), so 45 s leaves a margin before the
callee's patience runs out. The agent may ask for a different wait per question
(`request_user_info(timeout_seconds=...)`), which is clamped to
[`hitl_timeout_min_s`, `hitl_timeout_max_s`]: the lower bound keeps a question
answerable by a human at all, the upper bound keeps a callee from being held for
minutes. A question nobody answers in time is not lost: it expires, the call ends
politely, and the owner can still answer it for the next call
(`engine.hitl.answers.answer_question(..., for_next_call=True)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.settings import Settings

MAX_QUESTION_CHARS = 2000  # the column's limit (hitl_requests.question)


class QuestionRefused(ValueError):
    """A question the broker will not put to the owner (empty or too long)."""


@dataclass(frozen=True, slots=True)
class QuestionPolicy:
    default_timeout_s: float = 45.0
    min_timeout_s: float = 15.0
    max_timeout_s: float = 180.0

    def __post_init__(self) -> None:
        if not 0 < self.min_timeout_s <= self.default_timeout_s <= self.max_timeout_s:
            raise ValueError(
                "HITL timeouts need 0 < min <= default <= max, got "
                f"{self.min_timeout_s}, {self.default_timeout_s}, {self.max_timeout_s}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> QuestionPolicy:
        return cls(
            default_timeout_s=float(settings.hitl_timeout_s),
            min_timeout_s=float(settings.hitl_timeout_min_s),
            max_timeout_s=float(settings.hitl_timeout_max_s),
        )

    def timeout(self, asked_s: float | None) -> float:
        """The wait actually used: the default when none (or nonsense) is asked, else clamped."""
        if asked_s is None or not asked_s > 0:
            return self.default_timeout_s
        return min(max(float(asked_s), self.min_timeout_s), self.max_timeout_s)

    @staticmethod
    def question(text: str) -> str:
        """The question as stored: stripped, non-empty, within the column's limit."""
        cleaned = " ".join(text.split())
        if not cleaned:
            raise QuestionRefused("the question is empty")
        if len(cleaned) > MAX_QUESTION_CHARS:
            raise QuestionRefused(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        return cleaned
