"""Run the PBX simulator on its own: python -m ari_apps.simulator [--host H] [--port P]."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from . import SimulatorConfig, start_simulator


async def serve(host: str, port: int, time_scale: float) -> None:
    sim = await start_simulator(host, port, SimulatorConfig(time_scale=time_scale))
    print(f"simulator listening {sim.ari_url} user={sim.user}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenDeep PBX simulator (ARI over HTTP/WebSocket)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.time_scale))


if __name__ == "__main__":
    main()
