"""One log format for the whole process: ours, Litestar's, uvicorn's and APScheduler's records.

`configure_logging` puts a single handler on the root logger: human lines by default,
JSON lines with OPENDEEP_LOG_FORMAT=json. Every other library's logger propagates to it.
APScheduler reports each run of every job at INFO, so it is kept at WARNING. A warning
repeated within `repeat_window_s` (a rejected AudioSocket connection, a failing sweep) passes
once; when it comes back after the window, it says how many were suppressed. Tokens in the query
string of a logged URL (uvicorn logs each request and WebSocket handshake with it, and the owner's
audio sockets carry their token there) are printed as `token=[redacted]`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import OrderedDict
from datetime import UTC, datetime
from typing import IO, Any

from engine.clock import SYSTEM_CLOCK, Clock

HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose loggers must not keep handlers of their own: their records reach ours.
PROPAGATED = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "litestar", "asyncio", "aiohttp")
QUIET = {"apscheduler": logging.WARNING, "httpx": logging.WARNING, "httpcore": logging.WARNING}
_HANDLER_NAME = "opendeep"
_TOKEN_IN_QUERY = re.compile(r"([?&](?:token|access_token)=)[^&#\s\"']+")


class JsonLinesFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class RedactQueryTokens(logging.Filter):
    """Rewrites `?token=...` / `&token=...` in a record's message to `token=[redacted]`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record: the handler reports it as it would have
        if "token=" in message:
            record.msg, record.args = _TOKEN_IN_QUERY.sub(r"\1[redacted]", message), None
        return True


class RepeatFilter(logging.Filter):
    """Lets the same warning (logger, level, text) through once per `window_s` seconds.

    The next one after the window carries "(N more like this suppressed in the last ...s)".
    Below WARNING everything passes. At most `max_keys` different messages are remembered.
    """

    def __init__(self, window_s: float = 60.0, clock: Clock = SYSTEM_CLOCK, max_keys: int = 1000) -> None:
        super().__init__()
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._seen: OrderedDict[tuple[str, int, str], list[float | int]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or self.window_s <= 0:
            return True
        key = (record.name, record.levelno, record.getMessage())
        now = self.clock.monotonic()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.window_s:
            seen[1] += 1
            return False
        suppressed = int(seen[1]) if seen is not None else 0
        self._seen[key] = [now, 0]
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        if suppressed:
            record.msg = f"{record.getMessage()} ({suppressed} more like this suppressed in the last {self.window_s:g}s)"
            record.args = None
        return True


def configure_logging(level: str = "INFO", fmt: str = "human", *, repeat_window_s: float = 60.0,
                      stream: IO[str] | None = None, clock: Clock = SYSTEM_CLOCK) -> logging.Handler:
    """Route every logger of the process to one handler on `stream` (stderr) in one format; returns it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonLinesFormatter() if fmt == "json" else logging.Formatter(HUMAN_FORMAT))
    handler.addFilter(RedactQueryTokens())
    handler.addFilter(RepeatFilter(repeat_window_s, clock))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in PROPAGATED:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
        library.disabled = False
        library.setLevel(logging.NOTSET)  # the root's level (uvicorn.Config sets its own from OPENDEEP_LOG_LEVEL)
    for name, quiet_level in QUIET.items():
        logging.getLogger(name).setLevel(max(quiet_level, logging.getLevelName(level)))
    logging.captureWarnings(True)
    return handler
