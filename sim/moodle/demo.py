"""Demo data for the all-in-one mode: three historical platforms and the merged target.

Historical platforms are Moodle 4.1, the target 4.5 (set up without welcome messages). Demo
tokens (site administrator, every simulated WS function), fixed so the README can list them:

    ub1     ub1-token        historical platform, holds the real fixture course CS01
    ub2     ub2-token        historical platform, holds the real studentquiz course
    ub4     ub4-token        historical platform, holds the real quiz activity backups
    target  target-token     the merged platform (empty courses area, teachers only)

Each platform is served at ``<base>/<platform>/webservice/rest/server.php``. The same students
exist on several historical platforms under one username; a few of them changed e-mail on ub2
(identity drift), and the target already holds ``user01`` with another e-mail, so restoring
CS01 there meets Moodle's 2D conflict until identity homogenises it.
"""

from __future__ import annotations

import random
from pathlib import Path

from sim.apogee.names import SURNAMES
from sim.moodle.enrolments import enrol_user
from sim.moodle.entities import EDITINGTEACHER, STUDENT
from sim.moodle.platform import Platform
from sim.moodle.releases import MOODLE_41, MOODLE_45, WELCOME_OFF
from sim.moodle.state import SimMoodle, all_functions

# The real backups the fixture courses restore from, shipped with the package (SOURCES.md).
DEMO_BACKUPS = Path(__file__).with_name("demo_backups")
DEMO_TOKENS = {"ub1": "ub1-token", "ub2": "ub2-token", "ub4": "ub4-token", "target": "target-token"}
HISTORICAL = ("ub1", "ub2", "ub4")
_CATEGORIES = (
    "Sciences et technologies",
    "Droit et science politique",
    "Sciences humaines",
    "Santé",
)
_SUBJECTS = (
    "Algèbre",
    "Analyse",
    "Chimie organique",
    "Droit civil",
    "Histoire moderne",
    "Anatomie",
    "Statistiques",
    "Programmation",
    "Physique",
    "Sociologie",
)
_FIRST = ("Camille", "Léa", "Hugo", "Manon", "Lucas", "Chloé", "Nathan", "Inès", "Théo", "Jade")
_LAST = SURNAMES[:10]  # the commonest French surnames, as the Apogée simulator has them
# fixture file -> (platform, shortname, fullname, [(username, email, firstaccess)])
_FIXTURE_COURSES = {
    "question_attempts_missing_users.mbz": (
        "ub1",
        "CS01",
        "Course 01",
        [
            ("user01", "user01@example.com", 1634751270),
            ("user04", "user04@example.com", 1634751339),
        ],
    ),
    "backup-moodle2-course-with-studentquiz-m311.mbz": (
        "ub2",
        "Course Three",
        "Course Three",
        [("teacher", "teacher@gmail.com", 1651732159)],
    ),
    "moodle_311_quiz.mbz": ("ub4", "QUIZ311", "Quiz (3.11, random questions)", []),
    "moodle_28_quiz.mbz": ("ub4", "QUIZ28", "Quiz (2.8, ZIP backup)", []),
}


def seed_demo(
    sim: SimMoodle,
    *,
    base_url: str,
    fixtures: Path | None = None,
    students: int = 120,
    courses_per_platform: int = 6,
    seed: int = 0,
) -> None:
    """``base_url`` is where the platforms are served, e.g. ``http://127.0.0.1:8000/sim``."""
    rng = random.Random(seed)
    people = [_person(n, rng) for n in range(1, students + 1)]
    for name in (*HISTORICAL, "target"):
        platform = sim.add_platform(
            name,
            sitename=f"Moodle {name.upper()}",
            wwwroot=f"{base_url.rstrip('/')}/{name}",
            release=MOODLE_41 if name in HISTORICAL else MOODLE_45,
        )
        _base(platform, name)
    for index, name in enumerate(HISTORICAL):
        _historical(sim[name], people, rng, courses_per_platform, drift=name == "ub2", offset=index)
    if fixtures is not None:
        _fixture_courses(sim, fixtures)
    sim["target"].add_user("user01", "User", "01", "user01@univ-demo.fr", firstaccess=1700000000)
    # the target's administrator followed the README's "Moodle set-up": no welcome messages
    sim["target"].site.manual_welcome_default = WELCOME_OFF


def _person(n: int, rng: random.Random) -> tuple[str, str, str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    cod_etu = f"219{n:05d}"
    return f"e{cod_etu}", first, last, cod_etu


def _base(platform: Platform, name: str) -> None:
    platform.add_course(f"moodle-{name}", f"Moodle {name.upper()}", 0, id=1, format="site")
    platform.add_user("admin", "Admin", "User", f"admin@{name}.univ-demo.fr", id=2)
    platform.add_token(DEMO_TOKENS[name], userid=2, functions=all_functions())
    for index, label in enumerate(_CATEGORIES, start=1):
        platform.add_category(label, idnumber=f"CAT{index}", id=index)
    for n in range(1, 6):
        platform.add_user(
            f"prof{n}", _FIRST[n], _LAST[-n], f"prof{n}@univ-demo.fr", idnumber=f"P{n:04d}"
        )


def _historical(
    platform: Platform,
    people: list[tuple[str, str, str, str]],
    rng: random.Random,
    courses: int,
    *,
    drift: bool,
    offset: int,
) -> None:
    userids = []
    for username, first, last, cod_etu in people:
        if rng.random() < 0.3:
            continue  # not every student used every platform
        email = f"{username}@etu.univ-demo.fr"
        if drift and rng.random() < 0.1:
            email = f"{first.lower()}.{last.lower()}@old-mail.fr"  # identity drift
        userids.append(platform.add_user(username, first, last, email, idnumber=cod_etu).id)
    teachers = [platform.user_by_username[f"prof{n}"] for n in range(1, 6)]
    for n in range(courses):
        subject = _SUBJECTS[(n + offset * 3) % len(_SUBJECTS)]
        shortname = f"{platform.name.upper()}-{n + 1:03d}"
        course = platform.add_course(
            shortname,
            f"{subject} ({platform.name})",
            1 + n % len(_CATEGORIES),
            idnumber=f"{shortname}-ID",
        )
        manual = platform.add_instance(course.id, "manual")
        platform.add_instance(course.id, "self", status=1)
        enrol_user(platform, manual, teachers[n % len(teachers)], roleid=EDITINGTEACHER)
        for userid in rng.sample(userids, min(len(userids), 25)):
            enrol_user(platform, manual, userid, roleid=STUDENT)


def _fixture_courses(sim: SimMoodle, fixtures: Path) -> None:
    for filename, (name, shortname, fullname, users) in _FIXTURE_COURSES.items():
        path = fixtures / filename
        if not path.is_file():
            continue
        platform = sim[name]
        course = platform.add_course(shortname, fullname, 1, backup_file=path)
        manual = platform.add_instance(course.id, "manual")
        for username, email, firstaccess in users:
            user = platform.add_user(username, "Fixture", username, email, firstaccess=firstaccess)
            enrol_user(platform, manual, user.id, roleid=STUDENT)


def demo_banner(base_url: str) -> str:
    lines = ["Moodle simulator platforms (WS token):"]
    for name, token in DEMO_TOKENS.items():
        lines.append(f"  {base_url.rstrip('/')}/{name}/webservice/rest/server.php  {token}")
    return "\n".join(lines)
