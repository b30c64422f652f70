"""Examples of the pre-flight report's parts for its OpenAPI schemas, taken from the real report
of ``question_attempts_missing_users.mbz`` (Moodle 3.10) and from the generated LTI, H5P and
shared-random-question backups of the tests. FastAPI drops null values from examples, so a
required field that may be null shows a realistic value here."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

_PARTS: dict[str, dict[str, Any]] = {
    "Finding": {
        "code": "users.included",
        "severity": "info",
        "message": "2 user account(s) in the backup; they are checked against the new platform "
        "before the restore.",
        "message_fr": "2 compte(s) utilisateur dans la sauvegarde ; ils sont vérifiés sur la "
        "nouvelle plateforme avant la restauration.",
        "subject": None,
    },
    "ArchiveFacts": {
        "container": "tar.gz",
        "members": 41,
        "compressed_bytes": 12535,
        "uncompressed_bytes": 119334,
        "index_entries": 45,
    },
    "MoodleFacts": {
        "version": "2020110907.08",
        "release": "3.10.7+ (Build: 20211019)",
        "backup_version": "2020110900",
        "backup_release": "3.10",
        "backup_date": 1634751383,
        "original_wwwroot": "http://localhost:8000",
        "original_site_identifier_hash": "4b2c997b5fb14b82115d385fc4c6e272",
    },
    "CourseFacts": {"id": 2, "shortname": "CS01", "fullname": "Course 01", "format": "topics"},
    "SectionFacts": {"id": 1, "number": 0, "title": "0"},
    "ActivityFacts": {
        "cmid": 2,
        "modname": "quiz",
        "title": "Quiz 01",
        "section_id": 1,
        "module_version": 2020110900,
    },
    "LtiActivity": {
        "cmid": 12,
        "title": "Plateforme de TP",
        "typeid": 3,
        "toolurl": "https://lti.example.edu/launch",
        "tool_name": "Labo virtuel",
        "tool_baseurl": "https://lti.example.edu",
        "tool_course": 0,
        "site_tool": True,
        "arrives_unbound": True,
    },
    "H5pItem": {
        "kind": "html",
        "cmid": 7,
        "title": "Cours interactif",
        "machine_name": None,
        "package_bytes": 0,
        "section_id": None,
        "field": "intro",
        "reference": "@@PLUGINFILE@@/quiz.h5p",
        "present": False,
    },
    "QuestionFacts": {
        "bank_format": "legacy",
        "total": 1,
        "by_type": {"truefalse": 1},
        "random": 0,
    },
    "SharedRandomQuestion": {
        "question_id": 70,
        "quiz_cmids": [4, 5],
        "quiz_titles": ["Test 1", "Test 2"],
        "slots": 2,
    },
    "MetaLink": {"enrol_id": 3, "source_course_id": 777, "group_id": 12},
    "EnrolmentMethod": {
        "id": 1,
        "method": "manual",
        "enabled": True,
        "name": "Inscriptions manuelles",
        "role_id": 5,
        "user_enrolments": 4,
    },
    "BackupUser": {
        "id": 3,
        "username": "user01",
        "email": "user01@example.com",
        "auth": "manual",
        "idnumber": "",
        "firstname": "User",
        "lastname": "01",
        "firstaccess": 1634751270,
        "deleted": False,
        "mnethosturl": "http://localhost/m310",
    },
    "FileFacts": {"declared": 0, "declared_bytes": 0, "bodies": 0, "body_bytes": 0},
}
_USERS = {"included": True, "count": 2, "items": [_PARTS["BackupUser"]]}
# The whole report is its parts, as the real report of the 3.10 backup has them.
EXAMPLES: dict[str, dict[str, Any]] = {
    **_PARTS,
    "UserFacts": _USERS,
    "BackupReport": {
        "archive": _PARTS["ArchiveFacts"],
        "moodle": _PARTS["MoodleFacts"],
        "backup_type": "course",
        "course": _PARTS["CourseFacts"],
        "sections": [_PARTS["SectionFacts"]],
        "activities": [_PARTS["ActivityFacts"]],
        "activities_by_type": {"quiz": 1},
        "lti": [],
        "h5p": [],
        "questions": _PARTS["QuestionFacts"],
        "shared_random_questions": [],
        "meta_links": [],
        "enrolment_methods": [_PARTS["EnrolmentMethod"]],
        "users": _USERS,
        "files": _PARTS["FileFacts"],
        "findings": [_PARTS["Finding"]],
        "blocking": False,
    },
}


def example_of(model: str) -> ConfigDict:
    """The ``model_config`` that gives a report model its OpenAPI example."""
    return ConfigDict(json_schema_extra={"examples": [EXAMPLES[model]]})
