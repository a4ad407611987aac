"""Prometheus metrics of an engine node, defined once so every part observes into the same objects.

The dialer, the call controller and the voice agent import these and observe;
`web` serves them at /metrics. Names follow Prometheus conventions (seconds, _total).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

ACTIVE_CALLS = Gauge("opendeep_active_calls", "Calls this node holds right now (dialing or in call).", registry=REGISTRY)
CALLS = Counter(
    "opendeep_calls", "Finished calls by telephony outcome.", ["outcome"], registry=REGISTRY
)
VOICE_CALLS = Counter(
    "opendeep_voice_calls",
    "Answered calls by the voice provider and model that served them.",
    ["provider", "model"],
    registry=REGISTRY,
)
VOICE_COST = Counter(
    "opendeep_voice_cost_usd",
    "Estimated voice-model cost of answered calls, US dollars, by provider and model.",
    ["provider", "model"],
    registry=REGISTRY,
)
TIME_TO_FIRST_AGENT_AUDIO = Histogram(
    "opendeep_time_to_first_agent_audio_seconds",
    "From the callee answering to the first agent audio sent to the phone system.",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
TURN_LATENCY = Histogram(
    "opendeep_turn_latency_seconds",
    "From the end of the callee's speech to the first agent audio of the reply.",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
DISPATCH_DELAY = Histogram(
    "opendeep_dispatch_delay_seconds",
    "From a task's next_attempt_at to the moment the dialer originated the call.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=REGISTRY,
)
CALL_LOG_WRITE_FAILURES = Counter(
    "opendeep_call_log_write_failures",
    "Failed database writes of a call's record (what: transcript_turn, call_event, ari_events; "
    "result: retried, or dropped after the retry bound).",
    ["what", "result"],
    registry=REGISTRY,
)
AGENT_RECORD_FAILURES = Counter(
    "opendeep_agent_record_failures",
    "Writes of a call's record the live agent could not hand over; the call went on.",
    registry=REGISTRY,
)
SWEEP_ROW_FAILURES = Counter(
    "opendeep_sweep_row_failures",
    "Rows a background sweep could not process (skipped; the others go on), by sweep.",
    ["sweep"],
    registry=REGISTRY,
)
