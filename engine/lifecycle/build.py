"""The lifecycle component from settings: where the attempt, the dialer, the sweeps and the manager are built.

The domain classes take what they use; this module is the one place that knows how
they fit together and which settings each one reads. With an OpenAI key the verdicts,
strategy notes and campaign summaries come from a model (`lifecycle_models`), with the
rules and templates as their fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from engine.clock import Clock, SystemClock
from engine.lifecycle.analysis import Analyzer, ModelAnalyzer, RuleAnalyzer
from engine.lifecycle.attempt import AttemptOptions, CallAttempt
from engine.lifecycle.dialer import Dialer, DialLimits
from engine.lifecycle.manager import LifecycleManager, ManagerOptions
from engine.lifecycle.policy import DialPolicy
from engine.lifecycle.recording_fetch import RecordingKeeper
from engine.lifecycle.recording_store import RecordingStore
from engine.lifecycle.sweeps import LifecycleSweeps
from engine.ports.agent import AgentRunner
from engine.ports.telephony import Telephony
from engine.settings import Settings
from engine.tasks.campaigns import CampaignSummarizer
from engine.tasks.strategy import StrategyAdvisor


@dataclass(frozen=True, slots=True)
class LifecycleModels:
    """Who judges: the call's verdict, strategy notes, campaign summaries (rules and templates by default)."""

    analyzer: Analyzer = field(default_factory=RuleAnalyzer)
    advisor: StrategyAdvisor = field(default_factory=StrategyAdvisor)
    summarizer: CampaignSummarizer = field(default_factory=CampaignSummarizer)


def lifecycle_models(settings: Settings) -> LifecycleModels:
    """Model-backed judges when an OpenAI key is set, else the rules."""
    if settings.openai_api_key is None:
        return LifecycleModels()
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url)
    return LifecycleModels(
        analyzer=ModelAnalyzer(client, settings.analysis_model),
        advisor=StrategyAdvisor(client, settings.analysis_model),
        summarizer=CampaignSummarizer(client, settings.analysis_model),
    )


def build_dialer(
    settings: Settings,
    pool: asyncpg.Pool,
    telephony: Telephony | None,
    agent: AgentRunner | None,
    analyzer: Analyzer,
    clock: Clock,
) -> tuple[Dialer | None, str]:
    """The dialer and its attempt, or None and why this node does not dial."""
    if telephony is None:
        return None, "no phone system"
    if agent is None:
        return None, "no voice agent"
    policy = DialPolicy(settings.calling_window_start, settings.calling_window_end, settings.test_mode,
                        settings.test_destination)
    options = AttemptOptions(node_id=settings.effective_node_id, caller_id=settings.caller_id,
                             ring_timeout_s=settings.ring_timeout_s, record=settings.record_calls)
    keeper = RecordingKeeper(pool, telephony, RecordingStore(settings.data_dir / "recordings"), clock,
                             keep_on_pbx=settings.keep_pbx_recordings)
    attempt = CallAttempt(pool, telephony, agent, policy, analyzer, clock, options, recordings=keeper)
    limits = DialLimits(max_concurrent_calls=settings.max_concurrent_calls,
                        per_user=settings.max_concurrent_calls_per_user,
                        per_trunk=settings.max_concurrent_calls_per_trunk, test_mode=settings.test_mode)
    return Dialer(pool, attempt, limits, clock), ""


def build_lifecycle(
    settings: Settings,
    pool: asyncpg.Pool,
    database_url: str | None,
    telephony: Telephony | None,
    agent: AgentRunner | None,
    *,
    models: LifecycleModels | None = None,  # default: lifecycle_models(settings)
    clock: Clock | None = None,
    sweep_interval_s: float = 15.0,
    heartbeat_interval_s: float = 5.0,
) -> LifecycleManager:
    """The node's lifecycle component; it dials only with both a phone system and a voice agent."""
    models = models or lifecycle_models(settings)
    clock = clock or SystemClock()
    node_id = settings.effective_node_id
    sweeps = LifecycleSweeps(
        pool, node_id, global_dnd_threshold=settings.global_dnd_threshold,
        window_start=settings.calling_window_start, window_end=settings.calling_window_end,
        advisor=models.advisor, summarizer=models.summarizer,
    )
    dialer, why_not_dialling = build_dialer(settings, pool, telephony, agent, models.analyzer, clock)
    options = ManagerOptions(
        node_id=node_id, test_mode=settings.test_mode, dispatch_interval_s=settings.dispatch_interval_s,
        sweep_interval_s=sweep_interval_s, heartbeat_interval_s=heartbeat_interval_s, database_url=database_url,
    )
    return LifecycleManager(pool, dialer, sweeps, models.summarizer, clock, options, why_not_dialling=why_not_dialling)
