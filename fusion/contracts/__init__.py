"""The messages services exchange: one envelope, typed payloads, split by domain.

Events (``Event``) are facts in the past tense, commands (``Command``) name work; see
``fusion.contracts.envelope``. A payload knows its routing key; the envelope carries it as
``type`` together with the id the producer chose, so consumers can deduplicate.
"""

from fusion.contracts.enrolments import (
    APOGEE_CODE_PATTERN,
    EnrolmentMethodRegistered,
    EnrolmentRole,
    RegisterEnrolmentMethods,
    RunSync,
    SyncCompleted,
    SyncMode,
    SyncRunStateChanged,
)
from fusion.contracts.envelope import (
    PLATFORM_PATTERN,
    ROUTING_KEY_PATTERN,
    Command,
    Envelope,
    Event,
    Message,
    MessageKind,
)
from fusion.contracts.identity import (
    IdentityImportFinished,
    IdentityPlanApplied,
    IdentityPlanReverted,
)
from fusion.contracts.migrations import (
    CourseRestored,
    MigrationCompleted,
    MigrationRequested,
    MigrationStateChanged,
    RunBackup,
    RunRestore,
)

__all__ = [
    "APOGEE_CODE_PATTERN",
    "PLATFORM_PATTERN",
    "ROUTING_KEY_PATTERN",
    "Command",
    "CourseRestored",
    "EnrolmentMethodRegistered",
    "EnrolmentRole",
    "Envelope",
    "Event",
    "IdentityImportFinished",
    "IdentityPlanApplied",
    "IdentityPlanReverted",
    "Message",
    "MessageKind",
    "MigrationCompleted",
    "MigrationRequested",
    "MigrationStateChanged",
    "RegisterEnrolmentMethods",
    "RunBackup",
    "RunRestore",
    "RunSync",
    "SyncCompleted",
    "SyncMode",
    "SyncRunStateChanged",
]
