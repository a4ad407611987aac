"""Is the configured voice model usable? An authenticated request, not the presence of a key.

`VoiceModelProbe` asks the OpenAI API for the configured model (`GET /v1/models/{model}`
through the SDK's `AsyncOpenAI`, with the configured base URL) when the node starts and
every `interval_s` after; `status()` is the last answer, with a reason a person can act on.
"""

from __future__ import annotations

import asyncio
import logging

import openai

from engine.clock import Clock
from engine.ports.telephony import ComponentStatus

log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 10.0


def _reason(exc: Exception, model: str, base_url: str) -> str:
    """What went wrong, in words; the order matters (subclasses first)."""
    if isinstance(exc, openai.AuthenticationError):
        return "the API key was refused (401): check OPENAI_API_KEY"
    if isinstance(exc, openai.PermissionDeniedError):
        return f"the API key may not use {model} (403)"
    if isinstance(exc, openai.NotFoundError):
        return f"the model {model} does not exist or is not available to this key (404)"
    if isinstance(exc, openai.APITimeoutError):
        return f"the OpenAI API at {base_url} did not answer within {CHECK_TIMEOUT_S:.0f} s"
    if isinstance(exc, openai.APIConnectionError):
        return f"the OpenAI API at {base_url} is unreachable: {exc.__cause__ or exc}"
    if isinstance(exc, openai.APIStatusError):
        return f"the OpenAI API answered {exc.status_code}"
    return f"the check failed: {type(exc).__name__}: {exc}"


class VoiceModelProbe:
    def __init__(self, client: openai.AsyncOpenAI, model: str, clock: Clock, *, interval_s: float = 300.0) -> None:
        self._client = client
        self._model = model
        self._clock = clock
        self._interval_s = interval_s
        self._last = ComponentStatus(False, "openai", "not checked yet", {"model": model})
        self._checks = 0
        self._checked = asyncio.Condition()
        self._loop: asyncio.Task[None] | None = None

    def status(self) -> ComponentStatus:
        return self._last

    async def check(self) -> ComponentStatus:
        details = {"model": self._model}
        base_url = str(self._client.base_url)
        try:
            await self._client.models.retrieve(self._model, timeout=CHECK_TIMEOUT_S)
            self._last = ComponentStatus(True, "openai", "", details)
        except openai.RateLimitError:  # the key works; the account is busy
            self._last = ComponentStatus(True, "openai", "rate limited (429) at the last check", details)
        except openai.OpenAIError as exc:
            reason = _reason(exc, self._model, base_url)
            if self._last.ok or self._checks == 0:
                log.error("voice model check: %s", reason)
            self._last = ComponentStatus(False, "openai", reason, details)
        self._checks += 1
        async with self._checked:
            self._checked.notify_all()
        return self._last

    async def wait_checks(self, count: int, timeout: float = 10.0) -> ComponentStatus:
        """Until `count` checks have been made in all (tests)."""
        async with self._checked:
            await asyncio.wait_for(self._checked.wait_for(lambda: self._checks >= count), timeout)
        return self._last

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="voice-model-check")

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        await self._client.close()

    async def _run(self) -> None:
        while True:
            await self.check()
            await self._clock.sleep(self._interval_s)
