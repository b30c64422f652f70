"""What a platform needs for Fusion, and what its site info shows of it (README, "Moodle set-up").

``core_webservice_get_site_info`` lists the token's functions and its release; the rest of
the set-up (capabilities, ``allowaccountssameemail``, enrol_meta, ``max_input_vars``, each
course's welcome message option) is not visible through web services and is the README's
checklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fusion.moodle.releases import sends_welcome_messages

# Every function the client calls (a test keeps this, the client and the README in step).
REQUIRED_FUNCTIONS = (
    "core_webservice_get_site_info",
    "core_course_get_courses_by_field",
    "core_course_create_courses",
    "core_course_update_courses",
    "core_course_delete_courses",
    "core_course_get_categories",
    "core_course_create_categories",
    "core_course_delete_categories",
    "core_enrol_get_enrolled_users",
    "core_enrol_get_users_courses",
    "core_enrol_get_course_enrolment_methods",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "enrol_meta_add_instances",
    "core_group_create_groups",
    "core_group_get_course_groups",
    "core_group_add_group_members",
    "core_group_delete_group_members",
    "core_user_get_users_by_field",
    "core_user_get_users",
    "core_user_create_users",
    "core_user_update_users",
)


@dataclass(frozen=True)
class SetupGap:
    code: str
    message: str
    message_fr: str


def setup_gaps(site_info: dict[str, Any], *, welcome_messages_off: bool) -> list[SetupGap]:
    gaps = []
    granted = {str(f.get("name")) for f in site_info.get("functions", []) if isinstance(f, dict)}
    missing = [name for name in REQUIRED_FUNCTIONS if name not in granted]
    if missing:
        listed = ", ".join(missing)
        gaps.append(
            SetupGap(
                "functions_missing",
                f"The token's external service lacks {len(missing)} function(s): {listed}.",
                f"Le service externe du jeton n'a pas {len(missing)} fonction(s) : {listed}.",
            )
        )
    if sends_welcome_messages(site_info) and not welcome_messages_off:
        gaps.append(
            SetupGap(
                "welcome_messages",
                f"Moodle {site_info.get('release', '?')} sends a welcome message on each new "
                "manual enrolment where the course's manual enrolment method has it on (the "
                "default for new courses). Turn it off, then declare welcome_messages_off: "
                "until then Fusion enrols nobody on this platform.",
                f"Moodle {site_info.get('release', '?')} envoie un message de bienvenue à "
                "chaque nouvelle inscription manuelle si la méthode d'inscription manuelle du "
                "cours l'active (par défaut pour les nouveaux cours). Désactivez-le, puis "
                "déclarez welcome_messages_off : d'ici là, Fusion n'inscrit personne sur "
                "cette plateforme.",
            )
        )
    if site_info.get("userissiteadmin") is False:
        gaps.append(
            SetupGap(
                "capabilities_unchecked",
                "The token's user is not a site administrator: check that its role has the "
                "capabilities listed in the README (they are not visible to Fusion).",
                "L'utilisateur du jeton n'est pas administrateur du site : vérifiez que son "
                "rôle a les capacités listées dans le README (Fusion ne peut pas les voir).",
            )
        )
    return gaps
