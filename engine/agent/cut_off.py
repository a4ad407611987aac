"""Cutting the agent off mid-sentence: when the callee barges in, and when the owner takes the call.

The audio still queued toward the call is dropped; the model forgets what was not heard (where the
provider lets the client truncate) and the transcript keeps the share that was played.
"""

from __future__ import annotations

from engine.agent.live_call import LiveCall
from engine.agent.playout import Interruption


async def cut_agent_audio(call: LiveCall) -> Interruption | None:
    """Stop the agent's audio where it is; what was cut, or None if the agent was not speaking."""
    link = call.link
    if call.playout is None or not call.playout.speaking:
        return None
    cut = await call.playout.interrupt()
    if cut is None:
        return None
    link.cancelled.add(cut.response_id)
    item = call.playout.item(cut.item_id)
    fully_heard = item is not None and item.complete and cut.played_ms >= int(cut.model_ms)
    truncates = link.session is not None and link.session.capabilities.client_truncates
    if cut.played_ms > 0 and not fully_heard and truncates:  # else the model keeps its item; we keep the played share
        await link.session.truncate(cut.item_id, cut.played_ms)
    heard_share = cut.played_ms / cut.model_ms if cut.model_ms else 0.0
    await call.transcript.agent_ended(cut.item_id, call.clock.now(), not fully_heard, heard_share)
    return cut
