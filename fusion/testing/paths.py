from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# CI clones the repository elsewhere and lays shared/ beside it, as on a developer's machine.
SHARED = (REPO.parent / "shared").resolve()
MBZ_FIXTURES = SHARED / "fixtures" / "mbz"
MOODLE_GOLDEN = SHARED / "fixtures" / "moodle-golden"
