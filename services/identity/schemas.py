"""The API's schemas: requests, answers, with examples for the documentation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.identity.lifecycle import ImportState, PlanState

PLATFORM = r"^[a-z0-9_-]{1,32}$"
ImportSource = Literal["moodle_ws", "moodle_csv", "ldap", "ldif", "directory_csv"]
FileSource = Literal["moodle_csv", "ldif", "directory_csv"]


class BackupUser(BaseModel):
    """A user of ``users.xml`` as the orchestrator's pre-flight reads it."""

    id: int
    username: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=254)
    auth: str | None = Field(default=None, max_length=20)
    idnumber: str | None = Field(default=None, max_length=255)
    firstname: str | None = Field(default=None, max_length=100)
    lastname: str | None = Field(default=None, max_length=100)
    firstaccess: int | None = None
    deleted: bool = False
    mnethosturl: str | None = Field(default=None, max_length=255)


class RestoreCheckRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "platform": "target",
                    "source_platform": "ub1",
                    "original_site_identifier_hash": "5f4dcc3b5aa765d61d8327deb882cf99",
                    "users": [
                        {
                            "id": 12,
                            "username": "hlœuillet",
                            "email": "helene.loeuillet@u-bordeaux.fr",
                            "auth": "cas",
                            "idnumber": "21000012",
                            "firstname": "Hélène",
                            "lastname": "Lœuillet",
                            "firstaccess": 1600000000,
                            "deleted": False,
                            "mnethosturl": None,
                        }
                    ],
                }
            ]
        }
    )

    platform: str = Field(pattern=PLATFORM)
    source_platform: str | None = Field(default=None, pattern=PLATFORM)
    original_site_identifier_hash: str | None = Field(default=None, max_length=64)
    duplicate_admin_allowed: bool = Field(
        default=False,
        description="the target's backup | import_general_duplicate_admin_allowed: a backup's "
        "admin then maps to admin_<original_site_identifier_hash>, or is created so (2A2)",
    )
    users: list[BackupUser] = Field(max_length=100_000)
    refresh: bool = Field(
        default=True, description="Read the accounts concerned from the target's WS first."
    )


class RestoreCheckCounts(BaseModel):
    maps: int
    creates: int
    conflicts: int


class RestoreCheckUser(BaseModel):
    backup_user_id: int
    username: str
    outcome: Literal["maps_to_existing", "will_be_created", "conflict"]
    target_user_id: int | None
    case: str | None
    conflict_id: int | None
    reason: str
    reason_fr: str


class RestoreCheckAnswer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "platform": "target",
                    "clean": False,
                    "counts": {"maps": 0, "creates": 0, "conflicts": 1},
                    "users": [
                        {
                            "backup_user_id": 12,
                            "username": "hloeuillet",
                            "outcome": "conflict",
                            "target_user_id": 340,
                            "case": "2D",
                            "conflict_id": 7,
                            "reason": "the username exists here with another e-mail ...",
                            "reason_fr": "l'identifiant existe ici avec une autre adresse ...",
                        }
                    ],
                }
            ]
        }
    )

    platform: str
    clean: bool
    counts: RestoreCheckCounts
    users: list[RestoreCheckUser]


class MoodleImportRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"source": "moodle_ws", "platform": "ub1"}]}
    )

    source: Literal["moodle_ws"]
    platform: str = Field(pattern=PLATFORM)


class DirectoryImportRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"source": "ldap"}]})

    source: Literal["ldap"]


ImportRequest = Annotated[
    MoodleImportRequest | DirectoryImportRequest, Field(discriminator="source")
]


class ImportPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "source": "moodle_ws",
                    "platform": "ub1",
                    "state": "done",
                    "attempts": 0,
                    "processed": 1200,
                    "created": 12,
                    "updated": 3,
                    "unchanged": 1185,
                    "pages": 3,
                    "error": None,
                    "created_at": "2026-12-01T13:00:00Z",
                    "finished_at": "2026-12-01T13:00:09Z",
                }
            ]
        },
    )

    id: int
    source: str
    platform: str | None
    state: ImportState  # services/identity/lifecycle.py
    attempts: int
    processed: int
    created: int
    updated: int
    unchanged: int
    pages: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class AccountPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: str
    moodle_id: int
    username: str
    email: str
    firstname: str
    lastname: str
    idnumber: str
    auth: str
    deleted: bool


class LinkPublic(BaseModel):
    account: AccountPublic
    method: str
    score: float
    status: str
    reason: str


class PersonSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    uid: str
    mail: str
    sn: str
    given_name: str


class PersonPublic(PersonSummary):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "uid": "hloeuillet",
                    "mail": "helene.loeuillet@u-bordeaux.fr",
                    "sn": "Lœuillet",
                    "given_name": "Hélène",
                    "etu_id": "21000012",
                    "emp_id": "",
                    "ine": "1000000012M",
                    "eppn": "hloeuillet@u-bordeaux.fr",
                    "links": [],
                }
            ]
        },
    )

    etu_id: str
    emp_id: str
    ine: str
    eppn: str
    links: list[LinkPublic] = Field(default_factory=list)


class PersonAccount(BaseModel):
    """An account a person holds on a platform, through an accepted link (no e-mail, no names)."""

    moodle_id: int
    username: str
    link_method: str
    link_status: str


class PersonAccounts(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "uid": "hloeuillet",
                    "platform": "ub2",
                    "accounts": [
                        {
                            "moodle_id": 812,
                            "username": "hloeuillet2",
                            "link_method": "key",
                            "link_status": "confirmed",
                        }
                    ],
                    "username_held_by_another_person": False,
                }
            ]
        }
    )

    uid: str
    platform: str
    accounts: list[PersonAccount]
    # The platform's account whose username is this uid is linked to someone else: a caller
    # must not take it for this person's.
    username_held_by_another_person: bool = False


class PersonsPage(BaseModel):
    items: list[PersonSummary]
    total: int


class ConflictPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    platforms: list[str]
    accounts: list[Any]
    person_id: int | None
    suggestion: str
    suggestion_fr: str


class ConflictsPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 7,
                            "kind": "email_drift",
                            "platforms": ["ub2"],
                            "accounts": [["ub2", 340]],
                            "person_id": 1,
                            "suggestion": "set the e-mail to the directory's mail",
                            "suggestion_fr": "remplacer l'adresse par celle de l'annuaire",
                        }
                    ],
                    "total": 1,
                    "offset": 0,
                    "limit": 50,
                }
            ]
        }
    )

    items: list[ConflictPublic]
    total: int
    offset: int
    limit: int


class PlanRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"platform": "ub2"}]})

    platform: str = Field(pattern=PLATFORM)


class PlanStepPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    round: int
    moodle_id: int
    values: dict[str, Any]
    temporary: bool
    status: str
    message: str | None


class PlanPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "platform": "ub2",
                    "state": "applied",
                    "attempts": 0,
                    "changes": 4,
                    "blocked": 0,
                    "applied_steps": 4,
                    "error": None,
                    "approved_by": "demo-admin",
                    "steps": [
                        {
                            "round": 0,
                            "moodle_id": 340,
                            "values": {"email": ["h.l@ub2.fr", "helene.loeuillet@u-bordeaux.fr"]},
                            "temporary": False,
                            "status": "applied",
                            "message": None,
                        }
                    ],
                }
            ]
        },
    )

    id: int
    platform: str
    state: PlanState  # services/identity/lifecycle.py
    attempts: int
    changes: int
    blocked: int
    applied_steps: int
    error: str | None
    approved_by: str | None
    steps: list[PlanStepPublic] = Field(default_factory=list)


class LinkDecisionRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"person_id": 1, "decision": "confirm"}]}
    )

    person_id: int = Field(ge=1, le=2**31 - 1)
    decision: Literal["confirm", "reject"]
