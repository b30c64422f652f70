"""A faithful Moodle 4.1 simulator: several platforms, WS REST, backup/restore CLI stand-ins.

sim = SimMoodle()
seed_demo(sim)                       # or seed_golden(sim)
app = create_sim_app(sim)            # /{platform}/webservice/rest/server.php
sim.counters("target")               # calls and rows per WS function
"""

from sim.moodle.app import create_sim_app
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle

__all__ = ["Platform", "SimMoodle", "create_sim_app"]
