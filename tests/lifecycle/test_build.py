"""The lifecycle's parts as built from settings (no database: nothing is started)."""

from __future__ import annotations

from engine.lifecycle.analysis import RuleAnalyzer
from engine.lifecycle.build import LifecycleModels, build_dialer, build_lifecycle
from engine.settings import Settings
from tests.clock import ManualClock
from tests.lifecycle.fakes import FakeTelephony, ScriptedAgent

POOL = object()  # never used: building touches no connection


def settings(**overrides) -> Settings:
    return Settings(**{"node_id": "node-b", "openai_api_key": None, **overrides})


def test_a_node_without_a_phone_system_or_an_agent_does_not_dial():
    clock = ManualClock()
    assert build_dialer(settings(), POOL, None, ScriptedAgent(), RuleAnalyzer(), clock) == (None, "no phone system")
    assert build_dialer(settings(), POOL, FakeTelephony(), None, RuleAnalyzer(), clock) == (None, "no voice agent")


def test_the_dialer_and_its_attempt_take_their_settings():
    dialer, why_not = build_dialer(
        settings(caller_id="+15005550000", ring_timeout_s=25, record_calls=True, max_concurrent_calls=7,
                 max_concurrent_calls_per_user=2, calling_window_start="08:00"),
        POOL, FakeTelephony(), ScriptedAgent(), RuleAnalyzer(), ManualClock(),
    )
    assert why_not == "" and dialer is not None
    options = dialer.attempt.options
    assert (options.node_id, options.caller_id, options.ring_timeout_s, options.record) == (
        "node-b", "+15005550000", 25, True)
    assert (dialer.node_id, dialer.capacity, dialer.per_user_limit, dialer.test_mode) == ("node-b", 7, 2, False)
    assert dialer.policy.window_start == "08:00"


def test_test_mode_dials_one_call_at_a_time():
    dialer, _ = build_dialer(settings(test_mode=True, test_destination="+15005550006", max_concurrent_calls=9),
                             POOL, FakeTelephony(), ScriptedAgent(), RuleAnalyzer(), ManualClock())
    assert dialer.capacity == 1 and dialer.policy.test_destination == "+15005550006"


def test_the_manager_is_handed_its_parts_and_hooks_into_the_dialer():
    models = LifecycleModels()
    manager = build_lifecycle(settings(dispatch_interval_s=2.0), POOL, None, FakeTelephony(), ScriptedAgent(),
                              models=models, sweep_interval_s=60, heartbeat_interval_s=10)
    assert manager.summarizer is models.summarizer is manager.sweeps.summarizer
    assert manager.sweeps.advisor is models.advisor and manager.dialer.attempt.analyzer is models.analyzer
    assert (manager.options.dispatch_interval_s, manager.options.sweep_interval_s,
            manager.options.heartbeat_interval_s) == (2.0, 60, 10)
    assert manager.dialer.on_attempt_done is not None and manager.dialer.after_pass is not None
    idle = build_lifecycle(settings(), POOL, None, None, ScriptedAgent(), models=models)
    assert (idle.dialer, idle.why_not_dialling) == (None, "no phone system")
