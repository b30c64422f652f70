"""What the client needs to know about Moodle releases: 4.4+ sends course welcome messages.

Moodle 4.4 added a course welcome message to manual enrolment (moodle/moodle
``enrol/manual/classes/user_enrolment_callbacks.php``, hook ``after_user_enrolled``): every
*new* enrolment through a manual instance whose ``customint1`` is not
``ENROL_DO_NOT_SEND_EMAIL`` sends the user a message, and new instances take the site default
``enrol_manual/sendcoursewelcomemessage`` (from the course contact). Re-enrolling an enrolled
user sends nothing. ``core_enrol_get_course_enrolment_methods`` does not show ``customint*``,
so no web service can tell whether an instance would send: the platform's administrator turns
it off (README, "Moodle set-up") and says so in Fusion's configuration.
"""

from __future__ import annotations

import re
from typing import Any

from fusion.errors import Conflict

WELCOME_MESSAGES_SINCE = (4, 4)
_BRANCH = re.compile(r"^\s*(\d+)\.(\d+)")


class MoodleWelcomeMessagesOn(Conflict):
    code = "moodle_welcome_messages_on"


def release_branch(site_info: dict[str, Any]) -> tuple[int, int] | None:
    """``(4, 5)`` for ``"4.5.4+ (Build: 20250509)"``; None when the release is unreadable."""
    found = _BRANCH.match(str(site_info.get("release", "")))
    return (int(found.group(1)), int(found.group(2))) if found else None


def sends_welcome_messages(site_info: dict[str, Any]) -> bool:
    branch = release_branch(site_info)
    return branch is None or branch >= WELCOME_MESSAGES_SINCE


def check_welcome_messages(site_info: dict[str, Any], *, off: bool) -> None:
    """Refuse to enrol on a 4.4+ platform whose welcome messages are not declared off."""
    if off or not sends_welcome_messages(site_info):
        return
    raise MoodleWelcomeMessagesOn(
        f"Moodle {site_info.get('release', '?')} sends a course welcome message on every new "
        "manual enrolment unless each course's manual enrolment method has it off: turn it "
        "off (README, 'Moodle set-up'), then set welcome_messages_off for this platform. "
        "Nothing was enrolled.",
        message_fr=f"Moodle {site_info.get('release', '?')} envoie un message de bienvenue "
        "à chaque nouvelle inscription manuelle, sauf si la méthode d'inscription manuelle de "
        "chaque cours l'a désactivé : désactivez-le (README, « Moodle set-up »), puis "
        "déclarez welcome_messages_off pour cette plateforme. Aucune inscription n'a été faite.",
    )
