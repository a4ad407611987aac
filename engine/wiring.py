"""Build a node from settings: the real adapters, or the simulators when none is configured."""

from __future__ import annotations

import logging

from db.database import open_database
from engine.components import ComponentMissing, load_component
from engine.node import Node
from engine.scheduler import build_lifecycle
from engine.settings import Settings
from engine.voice.factory import start_voice_model

log = logging.getLogger(__name__)


async def build_node(settings: Settings) -> Node:
    database = await open_database(settings.database_url, settings.data_dir, pool_size=settings.db_pool_size)
    node = Node(settings=settings, database=database, voice=await start_voice_model(settings))
    try:
        build_telephony = load_component("telephony")
    except ComponentMissing as exc:
        log.warning("%s; calls cannot be placed", exc)
    else:
        node.telephony = build_telephony(settings)
    try:
        agent = load_component("agent")(settings)
    except ComponentMissing as exc:
        agent = None
        log.warning("%s; tasks are not dialled", exc)
    node.lifecycle = build_lifecycle(settings, database.pool, database.url, node.telephony, agent)
    node.components.append(node.lifecycle)
    return node
