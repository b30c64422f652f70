"""Where the tests find their data: inside the repository, never beside it."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
MBZ_FIXTURES = FIXTURES / "mbz"
MOODLE_GOLDEN = FIXTURES / "moodle-golden"
# The reference folder a developer may keep beside the clone; the product and its tests never read
# it (``fusion.testing.standalone`` fails the run if one does).
REFERENCE_BESIDE = REPO.parent.joinpath("shared")
