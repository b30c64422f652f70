"""What identity reasons about, free of any storage: directory entries, accounts, links."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """A person as the reference directory (SupAnn) knows them."""

    uid: str
    mail: str
    sn: str
    given_name: str
    etu_id: str = ""  # supannEtuId (Apogée COD_ETU)
    emp_id: str = ""  # supannEmpId
    ine: str = ""  # supannCodeINE
    ref_ids: tuple[str, ...] = ()  # supannRefId, "{LABEL}value"
    eppn: str = ""  # eduPersonPrincipalName

    @property
    def canonical_idnumber(self) -> str:
        return self.etu_id or self.emp_id

    def labelled_ids(self) -> list[tuple[str, str]]:
        pairs = []
        for ref in self.ref_ids:
            label, _, value = ref.removeprefix("{").partition("}")
            if value:
                pairs.append((label.upper(), value))
        return pairs


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """One ``mdl_user`` row of one platform, with the fields identity needs."""

    platform: str
    moodle_id: int
    username: str
    email: str
    firstname: str
    lastname: str
    idnumber: str = ""
    auth: str = "manual"
    firstaccess: int = 0
    lastaccess: int = 0
    deleted: bool = False
    suspended: bool = False


class LinkMethod(StrEnum):
    INE = "ine"
    ETU_ID = "etu_id"
    EMP_ID = "emp_id"
    REF_ID = "ref_id"
    USERNAME = "username"
    EMAIL = "email"
    EMAIL_LOCAL = "email_local"
    FUZZY_NAME = "fuzzy_name"
    MANUAL = "manual"


class LinkStatus(StrEnum):
    APPLIED = "applied"  # taken as true: strong key, or a weak key the names confirm
    PROPOSED = "proposed"  # below the threshold: an administrator confirms or rejects it
    CONFIRMED = "confirmed"  # a proposal an administrator accepted
    REJECTED = "rejected"


ACCEPTED = frozenset({LinkStatus.APPLIED, LinkStatus.CONFIRMED})


class LinkDecision(NamedTuple):
    """The linker's answer for one account (given in order, so the position says which).

    A tuple, and shared: every account a strong key links gets the very decision made for
    that key's value when the directory was indexed.
    """

    person: int  # index into the directory entries
    method: LinkMethod
    score: float
    status: LinkStatus
    reason: str
