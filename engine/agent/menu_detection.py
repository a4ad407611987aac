"""An automated phone menu ("For appointments, press 1"), told apart from a person by its words.

The answer is classified person / voicemail / unknown from sound (engine.agent.answer_supervision,
engine.agent.voicemail); a menu sounds like a person, so its classification comes from the first
transcribed words: a menu offers keys. Once recognised, the call's record says so and the model is
told to choose with `send_dtmf` rather than talk to it.
"""

from __future__ import annotations

import re

from engine.agent.live_call import LiveCall

KEY = r"(?:\d|zero|one|two|three|four|five|six|seven|eight|nine|star|pound|hash)"
MENU_PATTERNS = (
    re.compile(rf"\bpress(?:ing)?\s+(?:the\s+)?{KEY}\b", re.IGNORECASE),
    re.compile(rf"\bfor\b[^.?!]{{1,80}}?,?\s*(?:please\s+)?(?:press|dial|say)\s+{KEY}\b", re.IGNORECASE),
    re.compile(r"\b(?:main\s+menu|menu\s+options|listen\s+carefully\s+as\s+our\s+(?:menu\s+)?options)\b", re.IGNORECASE),
)
MENU_NOTE = (
    "What answered is an automated phone menu, not a person. Do not talk to it: choose the option that leads to "
    "your objective with the send_dtmf tool, and wait for a person or the next menu."
)
LISTEN_FOR_MENU_S = 30.0  # a menu announces itself in the call's first seconds


def sounds_like_a_menu(text: str) -> bool:
    return any(pattern.search(text) for pattern in MENU_PATTERNS)


class MenuDetection:
    def __init__(self, call: LiveCall) -> None:
        self._call = call
        self.menu = False

    async def callee_words(self, text: str) -> None:
        call = self._call
        if self.menu or call.answered_at is None or call.clock.monotonic() - call.answered_at > LISTEN_FOR_MENU_S:
            return
        if not sounds_like_a_menu(text):
            return
        self.menu = True
        await call.event("answer_classified", "an automated phone menu answered", {"kind": "ivr_menu"})
        await call.link.add_context(MENU_NOTE)
