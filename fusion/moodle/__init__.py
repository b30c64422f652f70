"""Moodle, through its public interfaces only: the WS REST client and the CLI runner."""

from fusion.moodle.batching import BatchResult
from fusion.moodle.cli_errors import (
    CliRun,
    MoodleCliCourseNotFound,
    MoodleCliDestinationUnwritable,
    MoodleCliError,
    MoodleCliRestoreFailed,
    MoodleCliRestorePrecheckFailed,
    MoodleCliTimeout,
    MoodleCliUsage,
)
from fusion.moodle.cli_runner import BackupDone, CliTemplates, MoodleCliRunner, RestoreDone
from fusion.moodle.client import MoodleClient
from fusion.moodle.errors import (
    MoodleAccessDenied,
    MoodleCannotAssignRole,
    MoodleCodingError,
    MoodleDuplicate,
    MoodleError,
    MoodleFunctionUnknown,
    MoodleInvalidParameter,
    MoodleInvalidToken,
    MoodleNoManualInstance,
    MoodleProtocolError,
    MoodleRecordMissing,
    MoodleRequestTooLarge,
    MoodleUnavailable,
)
from fusion.moodle.rows import (
    CourseUpdate,
    CustomField,
    GroupMember,
    ManualEnrolment,
    ManualUnenrolment,
    MetaLink,
    NewCourse,
    NewGroup,
    NewUser,
    UserCriterion,
    UserUpdate,
)

__all__ = [
    "BackupDone", "BatchResult", "CliRun", "CliTemplates", "CourseUpdate", "CustomField",
    "GroupMember", "ManualEnrolment", "ManualUnenrolment", "MetaLink", "MoodleAccessDenied",
    "MoodleCannotAssignRole", "MoodleCliCourseNotFound", "MoodleCliDestinationUnwritable",
    "MoodleCliError", "MoodleCliRestoreFailed", "MoodleCliRestorePrecheckFailed",
    "MoodleCliRunner", "MoodleCliTimeout", "MoodleCliUsage", "MoodleClient",
    "MoodleCodingError", "MoodleDuplicate", "MoodleError", "MoodleFunctionUnknown",
    "MoodleInvalidParameter", "MoodleInvalidToken", "MoodleNoManualInstance",
    "MoodleProtocolError", "MoodleRecordMissing", "MoodleRequestTooLarge", "MoodleUnavailable",
    "NewCourse", "NewGroup", "NewUser", "RestoreDone", "UserCriterion", "UserUpdate",
]
