"""Findings: what the teacher or support must know before the restore, in plain words."""

from __future__ import annotations

import re

from services.migration_orchestrator.preflight.report import (
    BackupUser,
    Finding,
    H5pItem,
    LtiActivity,
    MetaLink,
    Severity,
    SharedRandomQuestion,
)

# MDL-75696 was fixed on 2023-05-18, so in the June 2023 minors; 4.0 was then out of support
# (inferred from the fix date, see reference/moodle.md §6)
_MDL75696_FIXED = {(4, 1): 4, (4, 2): 1}


def target_has_random_fix(target_release: str | None) -> bool | None:
    """True/False when the target's release (e.g. "4.1.13") is known, None when it isn't."""
    match = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", target_release or "")
    if match is None:
        return None
    major, minor, patch = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if major < 4:
        return True  # a 3.x target never converts legacy slots, so it cannot hit the bug
    if (major, minor) in _MDL75696_FIXED:
        return patch >= _MDL75696_FIXED[(major, minor)]
    return (major, minor) > (4, 2)


def _finding(
    code: str, severity: Severity, en: str, fr: str, subject: str | None = None
) -> Finding:
    return Finding(code=code, severity=severity, message=en, message_fr=fr, subject=subject)


def shared_random(shared: list[SharedRandomQuestion], *, fixed: bool | None) -> list[Finding]:
    severity: Severity = "warning" if fixed else "blocking"
    found = []
    for s in shared:
        quizzes = ", ".join(f"« {title} »" for title in s.quiz_titles)
        found.append(
            _finding(
                "quiz.shared_random_question",
                severity,
                f"{s.slots} question slots of the quizzes {quizzes} use the same random question "
                f"(id {s.question_id}). Moodle 4.0-4.2 before June 2023 stops the restore on this "
                "(MDL-75696): restore on an updated Moodle, or give each slot its own random "
                "question first.",
                f"{s.slots} emplacements de question des tests {quizzes} utilisent la même "
                f"question aléatoire (id {s.question_id}). Moodle 4.0 à 4.2 antérieur à juin 2023 "
                "arrête la restauration dans ce cas (MDL-75696) : restaurez sur un Moodle à jour, "
                "ou donnez d'abord à chaque emplacement sa propre question aléatoire.",
                f"question:{s.question_id}",
            )
        )
    return found


def lti(items: list[LtiActivity]) -> list[Finding]:
    found = []
    for item in items:
        if item.arrives_unbound:
            found.append(
                _finding(
                    "lti.site_tool_unbound",
                    "warning",
                    f'The external tool activity "{item.title}" uses the site tool '
                    f'"{item.tool_name or "?"}", which is not carried by the backup: it will arrive'
                    " unconfigured until the same tool is set up on the new platform.",
                    f"L'activité outil externe « {item.title} » utilise l'outil de site "
                    f"« {item.tool_name or '?'} », absent de la sauvegarde : elle arrivera non "
                    "configurée tant que le même outil n'existe pas sur la nouvelle plateforme.",
                    f"cmid:{item.cmid}",
                )
            )
        else:
            found.append(
                _finding(
                    "lti.external_tool",
                    "info",
                    f'The external tool activity "{item.title}" will be restored with its own '
                    "settings; check that the tool accepts the new platform.",
                    f"L'activité outil externe « {item.title} » sera restaurée avec ses propres "
                    "réglages ; vérifiez que l'outil accepte la nouvelle plateforme.",
                    f"cmid:{item.cmid}",
                )
            )
    return found


def h5p(items: list[H5pItem]) -> list[Finding]:
    found = [
        _finding(
            "h5p.hvp_plugin_required",
            "warning",
            f'The interactive content "{item.title}" uses the H5P plugin (mod_hvp): the new '
            "platform must have it, or the activity is skipped; it can be converted to Moodle's"
            " own H5P activity.",
            f"Le contenu interactif « {item.title} » utilise le plugin H5P (mod_hvp) : la "
            "nouvelle plateforme doit l'avoir, sinon l'activité est ignorée ; elle peut être "
            "convertie en activité H5P de Moodle.",
            f"cmid:{item.cmid}",
        )
        for item in items
        if item.kind == "hvp"
    ]
    if items:
        total = sum(item.package_bytes for item in items)
        found.append(
            _finding(
                "h5p.content",
                "info",
                f"{len(items)} H5P content item(s), {total} bytes: backup and restore take longer.",
                f"{len(items)} contenu(s) H5P, {total} octets : la sauvegarde et la restauration "
                "prendront plus de temps.",
            )
        )
    return found


def h5p_missing(items: list[H5pItem], *, places: dict[str, str]) -> list[Finding]:
    """An H5P package a text embeds, but which the backup does not carry: broken after restore."""
    found = []
    for item in items:
        if item.kind != "html" or item.present:
            continue
        subject = f"cmid:{item.cmid}" if item.cmid is not None else f"section:{item.section_id}"
        place = places.get(subject, subject)
        found.append(
            _finding(
                "h5p.embedded_package_missing",
                "warning",
                f'The text ({item.field}) of "{place}" embeds the H5P content "{item.title}", '
                "which is not in the backup (it comes from another course or was deleted): it will "
                "show as a broken embed. Add the package to the text again after the restore.",
                f"Le texte ({item.field}) de « {place} » intègre le contenu H5P « {item.title} », "
                "absent de la sauvegarde (il vient d'un autre cours ou a été supprimé) : il "
                "s'affichera comme une intégration cassée. Ajoutez de nouveau le paquet au texte "
                "après la restauration.",
                subject,
            )
        )
    return found


def meta_links(links: list[MetaLink]) -> list[Finding]:
    return [
        _finding(
            "enrol.meta_link",
            "warning",
            f"Participants also come from course {link.source_course_id} (meta link). The link "
            "is recreated only once that course is on the new platform too.",
            f"Des participants viennent aussi du cours {link.source_course_id} (méta-lien). Le "
            "lien ne sera recréé qu'une fois ce cours lui aussi sur la nouvelle plateforme.",
            f"course:{link.source_course_id}",
        )
        for link in links
    ]


def users(items: list[BackupUser], *, included: bool) -> list[Finding]:
    if not included:
        return [
            _finding(
                "users.not_included",
                "info",
                "The backup holds no users: only the content is restored, without participants.",
                "La sauvegarde ne contient aucun utilisateur : seul le contenu est restauré, sans "
                "participants.",
            )
        ]
    found = [
        _finding(
            "users.included",
            "info",
            f"{len(items)} user account(s) in the backup; they are checked against the new platform"
            " before the restore.",
            f"{len(items)} compte(s) utilisateur dans la sauvegarde ; ils sont vérifiés sur la "
            "nouvelle plateforme avant la restauration.",
        )
    ]
    if any(u.username == "admin" for u in items):
        found.append(
            _finding(
                "users.admin_account",
                "warning",
                'The backup contains the "admin" account, which clashes with the new platform\'s '
                "own administrator unless admin conflict resolution is enabled.",
                "La sauvegarde contient le compte « admin », en conflit avec l'administrateur de "
                "la nouvelle plateforme sauf si la résolution des conflits admin est activée.",
                "username:admin",
            )
        )
    return found


def archive(*, index_disagreements: int, missing_bodies: int) -> list[Finding]:
    found = []
    if index_disagreements:
        found.append(
            _finding(
                "archive.index_mismatch",
                "info",
                f"The archive's index disagrees with its content for {index_disagreements} "
                "file(s); the real content was analysed.",
                f"L'index de l'archive ne correspond pas à son contenu pour {index_disagreements} "
                "fichier(s) ; c'est le contenu réel qui a été analysé.",
            )
        )
    if missing_bodies:
        found.append(
            _finding(
                "files.missing",
                "warning",
                f"{missing_bodies} file(s) listed in the backup are missing from it; they will be "
                "absent after the restore.",
                f"{missing_bodies} fichier(s) annoncé(s) dans la sauvegarde en sont absents ; ils "
                "manqueront après la restauration.",
            )
        )
    return found


def backup_kind(backup_type: str, bank_format: str) -> list[Finding]:
    found = []
    if backup_type != "course":
        found.append(
            _finding(
                "backup.not_a_course",
                "info",
                f"This is a backup of one {backup_type}, not of a whole course.",
                f"Il s'agit de la sauvegarde d'un seul élément ({backup_type}), pas d'un cours "
                "complet.",
            )
        )
    if bank_format == "legacy":
        found.append(
            _finding(
                "questions.legacy_bank",
                "info",
                "The question bank predates Moodle 4.0; a 4.x restore converts it.",
                "La banque de questions est antérieure à Moodle 4.0 ; une restauration en 4.x la "
                "convertit.",
            )
        )
    return found
