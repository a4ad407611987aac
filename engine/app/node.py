"""One engine node: the database, the phone system, the voice model and the jobs, wired.

The node owns its components' lifetimes: `start()` brings them up in order and
`stop()` closes them in reverse, cancelling every task it started.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from db.database import Database
from engine.ports.telephony import ComponentStatus, Telephony
from engine.settings import Settings

log = logging.getLogger(__name__)


class Component(Protocol):
    """Anything the node starts and stops (scheduler, simulators, listeners)."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class VoiceModelService(Protocol):
    def status(self) -> ComponentStatus: ...

    async def close(self) -> None: ...


@dataclass
class Node:
    settings: Settings
    database: Database
    telephony: Telephony | None = None
    voice: VoiceModelService | None = None
    lifecycle: Any = None  # engine.lifecycle.manager.LifecycleManager: the dialer and sweeps, with status()
    components: list[Component] = field(default_factory=list)
    _started: list[Any] = field(default_factory=list)

    @property
    def node_id(self) -> str:
        return self.settings.effective_node_id

    async def start(self) -> None:
        for part in self.components:
            await part.start()
            self._started.append(part)
        log.info("node %s started", self.node_id)

    async def stop(self) -> None:
        while self._started:
            part = self._started.pop()
            try:
                await part.close()
            except Exception:
                log.exception("closing %s failed", type(part).__name__)
        if self.voice is not None:
            await self.voice.close()
        await self.database.close()

    async def health(self) -> dict[str, dict[str, Any]]:
        report = {
            "database": await self._database_status(),
            "pbx": await self._status_of(self.telephony, "no phone system configured"),
            "voice_model": await self._status_of(self.voice, "no voice model configured"),
        }
        if self.lifecycle is not None:
            report["dialer"] = await self._status_of(self.lifecycle, "")
        return report

    async def _database_status(self) -> dict[str, Any]:
        try:
            await self.database.pool.fetchval("SELECT 1")
        except Exception as exc:  # any failure here is what the health check reports
            return {"ok": False, "mode": "embedded" if self.database.embedded else "external", "reason": str(exc)}
        return {"ok": True, "mode": "embedded" if self.database.embedded else "external"}

    @staticmethod
    async def _status_of(part: Any, missing: str) -> dict[str, Any]:
        if part is None:
            return {"ok": False, "mode": "none", "reason": missing}
        try:
            status = part.status()
            if inspect.isawaitable(status):
                status = await status
        except Exception as exc:
            return {"ok": False, "mode": "unknown", "reason": f"status check failed: {exc}"}
        report: dict[str, Any] = {"ok": status.ok, "mode": status.mode}
        if status.reason:
            report["reason"] = status.reason
        if status.details:
            report["details"] = status.details
        return report
