"""What Moodle checks before it creates or updates a user (core_user_external, user/lib.php).

Sources (moodle/moodle): ``user/externallib.php`` ``core_user_external::create_users`` (blank
names, username taken, auth plugin, language, password or createpassword for internal auths,
``validate_email``, ``$CFG->allowaccountssameemail``), ``user/lib.php`` ``user_create_user``
(``check_password_policy`` thrown as ``moodle_exception($errmsg)``) and ``lib/moodlelib.php``
``check_password_policy`` with the default policy (8 characters, 1 digit, 1 lower case, 1 upper
case, 1 non-alphanumeric character).
"""

from __future__ import annotations

import re

from sim.moodle.platform import Platform

# core_component::get_plugin_list('auth') of a standard site, minus mnet and webservice
INSTALLED_AUTHS = frozenset(
    {"manual", "nologin", "email", "ldap", "cas", "db", "lti", "oauth2", "shibboleth"}
)
INTERNAL_AUTHS = frozenset({"manual", "email"})  # auth_plugin_base::is_internal()
INSTALLED_LANGS = frozenset({"en", "fr"})
# validate_email(): the pattern of lib/moodlelib.php, simplified to its shape
_EMAIL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$", re.IGNORECASE)
_POLICY = (
    (lambda p: len(p) >= 8, "Passwords must be at least 8 characters long."),
    (lambda p: sum(c.isdigit() for c in p) >= 1, "Passwords must have at least 1 digit(s)."),
    (lambda p: any(c.islower() for c in p), "Passwords must have at least 1 lower case letter(s)."),
    (lambda p: any(c.isupper() for c in p), "Passwords must have at least 1 upper case letter(s)."),
    (
        lambda p: any(not c.isalnum() for c in p),
        "The password must have at least 1 special character(s) such as as *, -, or #.",
    ),
)


def valid_email(email: str) -> bool:
    return bool(_EMAIL.match(email))


def email_taken(platform: Platform, email: str, *, except_id: int | None = None) -> bool:
    """Case-insensitive, like the ``sql_equal(..., false)`` query; deleted users count too."""
    if platform.site.allow_accounts_same_email:
        return False
    wanted = email.lower()
    return any(u.email.lower() == wanted and u.id != except_id for u in platform.users.values())


def password_problems(password: str) -> str:
    """``check_password_policy``'s ``$errmsg``: one ``<div>`` per unmet rule, "" if none."""
    return "".join(f"<div>{message}</div>" for ok, message in _POLICY if not ok(password))
