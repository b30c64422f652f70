"""``core_user_*`` functions."""

from __future__ import annotations

from typing import Any

from sim.moodle.entities import User
from sim.moodle.params import DEFAULT, OPTIONAL, Multiple, Single, Value, text
from sim.moodle.platform import Platform
from sim.moodle.registry import Call, ws_function
from sim.moodle.user_policy import (
    INSTALLED_AUTHS,
    INSTALLED_LANGS,
    INTERNAL_AUTHS,
    email_taken,
    password_problems,
    valid_email,
)
from sim.moodle.views import user_record
from sim.moodle.ws_errors import invalid_parameter, moodle_exception

_LOOKUP_FIELDS = ("id", "idnumber", "username", "email")
_CRITERIA_KEYS = ("id", "lastname", "firstname", "idnumber", "username", "email", "auth")
_PAIRS = Multiple(Single({"type": text(), "value": text()}), OPTIONAL)


@ws_function(
    "core_user_get_users_by_field",
    Single(
        {
            "field": Value("alphanumext"),
            "values": Multiple(text()),
        }
    ),
    rows_key="values",
)
def get_users_by_field(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    field, values = params["field"], params["values"]
    if field not in _LOOKUP_FIELDS:
        raise invalid_parameter()
    call.require("moodle/user:viewdetails")
    if field == "username" and any(v != v.lower().strip() for v in values):
        raise invalid_parameter()  # clean_param(PARAM_USERNAME) changed the value
    users = _lookup(call.platform, field, values)
    return [user_record(call.platform.site, u) for u in users]


def _lookup(platform: Platform, field: str, values: list[str]) -> list[User]:
    if field == "id":
        ids = {int(v) for v in values if v.strip().isdigit()}
        found = [platform.users[i] for i in ids if i in platform.users]
    elif field == "username":
        ids = {platform.user_by_username[v] for v in values if v in platform.user_by_username}
        found = [platform.users[i] for i in ids]
    else:
        wanted = set(values)
        found = [u for u in platform.users.values() if getattr(u, field) in wanted]
    return sorted((u for u in found if not u.deleted), key=lambda u: u.id)


@ws_function(
    "core_user_get_users",
    Single(
        {
            "criteria": Multiple(Single({"key": text(), "value": text()})),
        }
    ),
)
def get_users(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    criteria = params["criteria"]
    if not criteria:
        raise invalid_parameter()
    call.require("moodle/user:viewdetails")
    keys = [c["key"] for c in criteria]
    if len(set(keys)) != len(keys):
        raise invalid_parameter_key_set()
    warnings = [
        {
            "item": c["key"],
            "warningcode": "invalidfieldparameter",
            "message": "The search key '" + c["key"] + "' is not supported, look at the web "
            "service documentation",
        }
        for c in criteria
        if c["key"] not in _CRITERIA_KEYS
    ]
    supported = [c for c in criteria if c["key"] in _CRITERIA_KEYS]
    users = [
        u
        for u in call.platform.users.values()
        if not u.deleted and all(_matches(u, c["key"], c["value"]) for c in supported)
    ]
    ordered = sorted(users, key=lambda u: u.id)
    return {"users": [user_record(call.platform.site, u) for u in ordered], "warnings": warnings}


def invalid_parameter_key_set() -> Exception:
    return moodle_exception("keyalreadyset", "This key has already been set")


def _matches(user: User, key: str, value: str) -> bool:
    if key == "id":
        return str(user.id) == value
    actual = str(getattr(user, key))
    return (
        actual == value
        if key in ("username", "auth", "idnumber")
        else (actual.lower() == value.lower())
    )


_NEW_USER = Single(
    {
        "createpassword": Value("bool", OPTIONAL),
        "username": Value("username"),
        "auth": text(DEFAULT, "manual"),
        "password": text(OPTIONAL),
        "firstname": text(),
        "lastname": text(),
        "email": Value("email"),
        "maildisplay": text(OPTIONAL),
        "city": text(OPTIONAL),
        "country": text(OPTIONAL),
        "timezone": text(OPTIONAL),
        "description": text(OPTIONAL),
        "idnumber": text(DEFAULT, ""),
        "lang": text(OPTIONAL),
        "calendartype": text(OPTIONAL),
        "theme": text(OPTIONAL),
        "mailformat": text(OPTIONAL),
        "customfields": _PAIRS,
        "preferences": _PAIRS,
    }
)


@ws_function("core_user_create_users", Single({"users": Multiple(_NEW_USER)}), rows_key="users")
def create_users(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    platform = call.platform
    call.require("moodle/user:create")
    created = []
    for row in params["users"]:
        _check_new_user(platform, row)
        user = platform.add_user(
            row["username"],
            row["firstname"],
            row["lastname"],
            row["email"],
            idnumber=row["idnumber"],
            auth=row["auth"],
            lang=row.get("lang", "en"),
        )
        created.append({"id": user.id, "username": user.username})
    return created


def _check_new_user(platform: Platform, row: dict[str, Any]) -> None:
    """core_user_external::create_users, in its order; the reason is Moodle's debuginfo."""
    if any(not row[f].strip() for f in ("username", "firstname", "lastname")):
        raise invalid_parameter()  # "The field ... cannot be blank"
    if row["username"] in platform.user_by_username:
        raise invalid_parameter()  # "Username already exists: ..."
    if row["auth"] not in INSTALLED_AUTHS:
        raise invalid_parameter()  # "Invalid authentication type: ..."
    if row.get("lang", "en") not in INSTALLED_LANGS:
        raise invalid_parameter()  # "Invalid language code: ..."
    internal = row["auth"] in INTERNAL_AUTHS
    if internal and not row.get("password") and not row.get("createpassword"):
        raise invalid_parameter()  # "Invalid password: you must provide a password ..."
    if not valid_email(row["email"]):
        raise invalid_parameter()  # "Email address is invalid: ..."
    if email_taken(platform, row["email"]):
        raise invalid_parameter()  # "Email address already exists: ..."
    if internal and row.get("password") and not row.get("createpassword"):
        problems = password_problems(row["password"])
        if problems:  # user_create_user: throw new moodle_exception($errmsg)
            raise moodle_exception(problems, problems)


_USER_UPDATE = Single(
    {
        "id": Value("int"),
        "username": Value("username", OPTIONAL),
        "auth": text(OPTIONAL),
        "suspended": Value("bool", OPTIONAL),
        "password": text(OPTIONAL),
        "firstname": text(OPTIONAL),
        "lastname": text(OPTIONAL),
        "email": text(OPTIONAL),
        "idnumber": text(OPTIONAL),
        "lang": text(OPTIONAL),
        "customfields": _PAIRS,
        "preferences": _PAIRS,
    }
)


@ws_function(
    "core_user_update_users",
    Single({"users": Multiple(_USER_UPDATE)}),
    rows_key="users",
    transactional=False,
)
def update_users(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Row by row: bad rows come back as warnings, good rows are kept (recordings §13)."""
    platform = call.platform
    call.require("moodle/user:update")
    warnings = []
    emails = {u.email.lower(): u.id for u in platform.users.values() if not u.deleted}
    for row in params["users"]:
        problem = _update_problem(call, row, emails)
        if problem is not None:
            code, message = problem
            warnings.append(
                {"item": "user", "itemid": row["id"], "warningcode": code, "message": message}
            )
            continue
        user = platform.users[row["id"]]
        emails.pop(user.email.lower(), None)
        _apply_user_update(platform, user, row)
        emails[user.email.lower()] = user.id
    return {"warnings": warnings}


def _update_problem(
    call: Call, row: dict[str, Any], emails: dict[str, int]
) -> tuple[str, str] | None:
    """core_user_external::update_users, in its order (each becomes a warning)."""
    platform = call.platform
    user = platform.users.get(row["id"])
    if user is None:
        return "invaliduserid", "Invalid user ID"
    caller_is_admin = call.token.capabilities is None
    if user.id != call.token.userid and user.username == "admin" and not caller_is_admin:
        return "usernotupdatedadmin", "Cannot update admin accounts"
    if user.deleted:
        return "usernotupdateddeleted", "User is a deleted user"
    if user.username == "guest":
        return "usernotupdatedguest", "Cannot update guest account"
    email = row.get("email")
    if email is not None and email != user.email and not valid_email(email):
        return "useremailinvalid", "Invalid email address"
    duplicate = email is not None and emails.get(email.lower(), user.id) != user.id
    if duplicate and not platform.site.allow_accounts_same_email:
        return "useremailduplicate", "Duplicate email address"
    taken = platform.user_by_username.get(row.get("username", ""))
    if taken is not None and taken != user.id:
        return "dmlwriteexception", "Error writing to database"
    return None


def _apply_user_update(platform: Platform, user: User, row: dict[str, Any]) -> None:
    old_username = user.username
    for key in (
        "username",
        "auth",
        "suspended",
        "firstname",
        "lastname",
        "email",
        "idnumber",
        "lang",
    ):
        if key in row:
            setattr(user, key, row[key])
    if user.username != old_username:
        platform.user_by_username.pop(old_username, None)
        platform.user_by_username[user.username] = user.id
