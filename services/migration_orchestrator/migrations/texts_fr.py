"""The French text stored beside the English one of a history entry's cause and a log line.

The steps write their causes and log lines in English (for the logs and the API's English
readers); support staff and teachers read the French one that is stored beside it. A caller that
already holds a French text (a Moodle error's ``message_fr``, a pre-flight finding) passes it;
otherwise the English text is looked up here, by its pattern. A text this catalogue does not
know (a raw Moodle output line) has no French version: ``None``, and the pages show the English.
"""

from __future__ import annotations

import re

# (English pattern, French template): the pattern's named groups fill the template.
_CAUSES: list[tuple[str, str]] = [
    (r"request", "demande"),
    (r"requested by (?P<who>.+)", "demandée par {who}"),
    (r"retry by (?P<who>.+)", "relancée par {who}"),
    (r"resume by (?P<who>.+)", "reprise par {who}"),
    (r"cancelled by (?P<who>.+)", "annulée par {who}"),
    (r"worker (?P<who>.+)", "programme de la plateforme ({who})"),
    (r"retry after: (?P<what>.+)", "nouvel essai après : {what}"),
    (r"pre-flight", "analyse de la sauvegarde"),
    (r"restore-check", "vérification des utilisateurs sur la plateforme fusionnée"),
    (r"restore queued", "restauration mise en file d'attente"),
    (r"post-restore", "finalisation du cours sur la plateforme fusionnée"),
    (r"backup failed", "la sauvegarde a échoué"),
    (r"restore lease expired", "pas de nouvelles de la restauration à temps"),
    (
        r"target refused the restore area",
        "la plateforme fusionnée a refusé la zone de restauration",
    ),
    (
        r"new backup after identity resolution",
        "nouvelle sauvegarde, les comptes ayant été corrigés sur la plateforme",
    ),
    (r"step", "étape suivante"),
]
_LOGS: list[tuple[str, str]] = [
    (r"backup stored \((?P<n>\d+) bytes\)", "sauvegarde enregistrée ({n} octets)"),
    (r"restore-check clean", "vérification des utilisateurs : aucun conflit"),
    (
        r"restore started by (?P<who>.+?) \(again: the previous attempt never reported\)",
        "restauration lancée par {who} (de nouveau : la tentative précédente n'a jamais répondu)",
    ),
    (r"restore started by (?P<who>.+)", "restauration lancée par {who}"),
    (
        r"restored as course (?P<id>\d+) on the target",
        "restauré comme cours {id} sur la plateforme fusionnée",
    ),
    (
        r"restore request (?P<n>\d+) started by no worker and not reported within (?P<s>\d+) s",
        "demande de restauration {n} prise par aucun programme et sans réponse en {s} s",
    ),
    (
        r"restore request (?P<n>\d+) started by (?P<who>.+) and not reported within (?P<s>\d+) s",
        "demande de restauration {n} lancée par {who} et sans réponse en {s} s",
    ),
    (
        r"restore queued again \(attempt (?P<n>\d+) of (?P<max>\d+)\)",
        "restauration remise en file d'attente (tentative {n} sur {max})",
    ),
    (
        r"(?P<n>\d+) conflict\(s\) remain on a backup taken before the migration was resumed: "
        r"a new backup is taken, with the source platform's current accounts",
        "{n} conflit(s) subsistent dans une sauvegarde faite avant la reprise de la migration : "
        "une nouvelle sauvegarde est faite, avec les comptes actuels de la plateforme d'origine",
    ),
    (
        r"deleted course (?P<id>\d+), a second restore of this migration",
        "cours {id} supprimé : une seconde restauration de cette migration",
    ),
    (
        r"course (?P<id>\d+) left in its restore area: (?P<why>.+)",
        "cours {id} resté dans sa zone de restauration : {why}",
    ),
    (
        r"the placeholder of the failed restore may remain: (?P<why>.+)",
        "le cours provisoire de la restauration échouée reste peut-être : {why}",
    ),
    (
        r"the restore area could not be emptied now: (?P<why>.+)",
        "la zone de restauration n'a pas pu être vidée pour l'instant : {why}",
    ),
    (r"names not set: (?P<why>.+)", "noms du cours non appliqués : {why}"),
    (
        r"idnumber (?P<code>.+?) not set: (?P<why>.+)",
        "numéro d'identification {code} non appliqué : {why}",
    ),
    (
        r"teacher (?P<who>.+) has no account on the target",
        "l'enseignant {who} n'a pas de compte sur la plateforme fusionnée",
    ),
    (r"teachers not enrolled: (?P<why>.+)", "enseignants non inscrits : {why}"),
    (
        r"meta link (?P<link>.+?) refused: it would make a loop",
        "lien méta {link} refusé : il formerait une boucle",
    ),
    (
        r"meta link (?P<link>.+?): Moodle answered (?P<what>.+)",
        "lien méta {link} : Moodle a répondu {what}",
    ),
    (r"meta link (?P<link>.+?) created", "lien méta {link} créé"),
]


def _compile(table: list[tuple[str, str]]) -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(pattern, re.DOTALL), french) for pattern, french in table]


_CAUSE_PATTERNS = _compile(_CAUSES)
_LOG_PATTERNS = _compile(_LOGS)


def _translate(text: str, patterns: list[tuple[re.Pattern[str], str]]) -> str | None:
    for pattern, french in patterns:
        found = pattern.fullmatch(text)
        if found is not None:
            return french.format(**found.groupdict())
    return None


def cause_fr(cause: str) -> str | None:
    """The French of a transition's cause, or ``None`` when the catalogue lacks it."""
    return _translate(cause, _CAUSE_PATTERNS)


def log_fr(message: str) -> str | None:
    """The French of a log line written in English, or ``None`` (a raw Moodle output line)."""
    return _translate(message, _LOG_PATTERNS)
