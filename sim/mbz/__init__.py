"""Builder of real-format Moodle course backups (`.mbz`) for tests, benchmarks and the demo."""

from sim.mbz.spec import (
    QUIZ_REFERENCES_VERSION,
    SITE_COURSE_ID,
    STANDARD_ROLES,
    ActivitySpec,
    BackupSpec,
    CourseSpec,
    EnrolSpec,
    FileSpec,
    LtiToolSpec,
    QuestionSpec,
    RoleAssignmentSpec,
    RoleSpec,
    SectionSpec,
    SiteSpec,
    UserSpec,
)
from sim.mbz.writer import Container, content_hash, write_course_backup

__all__ = [
    "QUIZ_REFERENCES_VERSION",
    "SITE_COURSE_ID",
    "STANDARD_ROLES",
    "ActivitySpec",
    "BackupSpec",
    "Container",
    "CourseSpec",
    "EnrolSpec",
    "FileSpec",
    "LtiToolSpec",
    "QuestionSpec",
    "RoleAssignmentSpec",
    "RoleSpec",
    "SectionSpec",
    "SiteSpec",
    "UserSpec",
    "content_hash",
    "write_course_backup",
]
