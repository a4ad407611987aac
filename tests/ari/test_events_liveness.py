"""The events socket's liveness probe: a socket that is open but deaf is found out and replaced."""

from __future__ import annotations

import uuid

import pytest

from ari_apps.events_socket import EventsSocket, SocketState, SocketTimings
from ari_apps.rest_client import AriRestClient
from engine.ports.telephony import CallOutcome, DialRequest
from tests.clock import GatedClock

from .telephony import ari_telephony

NOTHING = {"channels": [], "bridges": []}
INTERVAL, BOUND = 30.0, 5.0  # the probe's interval and reply bound; the backoff sleeps are shorter


@pytest.fixture
async def probed_socket(sim, http):
    rest = AriRestClient(sim.ari_url, sim.user, sim.password, http)
    clock = GatedClock()
    reasons: list[str] = []

    async def reconciled() -> None:
        return None

    socket = EventsSocket(
        sim.ari_url, "opendeep", rest.auth_headers, http, lambda raw, event: None, reconciled, reasons.append,
        timings=SocketTimings(probe_interval_s=INTERVAL, probe_timeout_s=BOUND), clock=clock, probe=rest.user_event,
    )  # fmt: skip
    socket.start()
    yield socket, clock, reasons
    await socket.close()


async def test_a_socket_whose_events_stopped_arriving_is_closed_and_reconnected(sim, probed_socket):
    socket, clock, reasons = probed_socket
    await socket.wait_until(lambda: socket.probes_answered == 1, timeout=5)  # the first probe, at once
    await clock.sleeper(lambda s: s == INTERVAL)

    await sim.deafen_events_socket("opendeep", keep_app=True)  # registered, but its events go nowhere
    await clock.release(lambda s: s == INTERVAL)
    await clock.release(lambda s: s == BOUND)  # the reply bound passes without the user event

    await socket.wait_for_state(SocketState.DOWN, timeout=5)
    await clock.sleeper(lambda s: s < BOUND)  # waiting out the backoff: the reason is on show
    assert socket.last_error == "events socket deaf: liveness probe not answered within 5 s; reconnecting"
    assert reasons == [socket.last_error] and socket.deaf_detected == 1
    await clock.release(lambda s: s < BOUND)
    await socket.wait_until(lambda: socket.connections == 2 and socket.probes_answered == 2, timeout=5)
    assert socket.is_up and sim.events_connected("opendeep")


async def test_a_healthy_socket_passes_every_probe(sim, probed_socket):
    socket, clock, _ = probed_socket
    for answered in (1, 2, 3):
        await socket.wait_until(lambda: socket.probes_answered == answered, timeout=5)
        await clock.release(lambda s: s == INTERVAL)
    assert (socket.connections, socket.deaf_detected, socket.state) == (1, 0, SocketState.UP)


async def test_an_app_destroyed_under_its_socket_is_found_by_the_probe_and_calls_carry_on(sim, sink):
    """The 23.4.1 case: the app is gone, so the probe's POST gets 404 and the socket is replaced."""
    adapter = ari_telephony(sim, sink, mode="simulated", socket=SocketTimings(probe_interval_s=0.05))
    await adapter.start()
    try:
        call = await adapter.originate(DialRequest(str(uuid.uuid4()), "Local/s@callee-echo/n"))
        assert await call.answered()
        await sim.deafen_events_socket("opendeep")
        socket = adapter._socket
        await socket.wait_until(lambda: socket.deaf_detected == 1 and socket.is_up, timeout=10)
        status = await adapter.status()
        assert status.ok and status.details["deaf_sockets_replaced"] == 1
        await call.hangup()  # its events flow again on the new socket
        result = await call.finished()
        assert (result.outcome, result.q850_cause) == (CallOutcome.ANSWERED, 16)
        assert sim.leftovers() == NOTHING
    finally:
        await adapter.close()


async def test_the_probe_event_comes_back_on_the_target(target, sink):
    """On a real Asterisk too: POST /events/user reaches our socket as ChannelUserevent."""
    adapter = ari_telephony(target, sink, app=target.app, socket=SocketTimings(probe_interval_s=0.05))
    await adapter.start()
    try:
        socket = adapter._socket
        await socket.wait_until(lambda: socket.probes_answered >= 3, timeout=10)
        assert (socket.connections, socket.deaf_detected) == (1, 0)
        assert not sink.raw  # probes are not call events
    finally:
        await adapter.close()
