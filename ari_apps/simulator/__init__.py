"""A PBX simulator that speaks ARI over real sockets (see `server.py`, `personas.py`)."""

from .pbx import SimulatorConfig
from .personas import PERSONAS, TEST_NUMBERS
from .server import PbxSimulator, start_simulator

__all__ = ["PERSONAS", "TEST_NUMBERS", "PbxSimulator", "SimulatorConfig", "start_simulator"]
