"""Build a node from settings: the real adapters, or the simulators when none is configured.

Start order matters and is the order of `node.components`: the call log
(telephony reports into it), the telephony, the HITL listener, then the
lifecycle that dials through them. The node stops them in reverse.
"""

from __future__ import annotations

import logging

from db.database import open_database
from engine.agent.runner import VoiceAgentRunner
from engine.app.components import load_component
from engine.app.node import Node
from engine.hitl import HitlService
from engine.lifecycle.build import build_lifecycle
from engine.lifecycle.call_log import DatabaseCallLog
from engine.settings import Settings
from engine.voice.factory import start_voice_model

log = logging.getLogger(__name__)


async def build_node(settings: Settings) -> Node:
    database = await open_database(
        settings.database_url, settings.data_dir, pool_size=settings.effective_db_pool_size,
        acquire_timeout_s=settings.db_acquire_timeout_s,
    )
    voice = await start_voice_model(settings)
    node = Node(settings=settings, database=database, voice=voice)
    call_log = DatabaseCallLog(database.pool, retry_s=settings.db_write_retry_s)
    node.telephony = await load_component("telephony")(settings, call_log)
    hitl = HitlService.from_settings(settings, database.pool, database.url)
    agent = VoiceAgentRunner(database.pool, voice, settings, hitl, call_log, detect_intercepts=True)
    node.lifecycle = build_lifecycle(settings, database.pool, database.url, node.telephony, agent)
    node.components.extend([call_log, node.telephony, hitl, node.lifecycle])
    return node
