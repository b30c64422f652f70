"""Equivalence of a simulator answer and a recorded Moodle answer.

Same keys, same value types and the same values, except the keys whose value depends on the
clock or the URL of the recorded site. Summarised recordings keep the structure but cut bulky
parts: ``_keys`` lists the keys really returned, and rosters become ``{count, users}``.
"""

from __future__ import annotations

from typing import Any

VOLATILE = frozenset(
    {
        "timecreated",
        "timemodified",
        "cacherev",
        "userpictureurl",
        "profileimageurl",
        "profileimageurlsmall",
        "siteurl",
        "userprivateaccesskey",
        "sortorder",
    }
)


def differences(recorded: Any, actual: Any, *, summarized: bool, path: str = "$") -> list[str]:
    if isinstance(recorded, dict) and summarized and set(recorded) == {"count", "users"}:
        return _roster_differences(recorded, actual, path)
    if isinstance(recorded, dict):
        return _dict_differences(recorded, actual, summarized=summarized, path=path)
    if isinstance(recorded, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {type(actual).__name__}"]
        if len(recorded) != len(actual):
            return [f"{path}: {len(recorded)} items recorded, {len(actual)} answered"]
        found: list[str] = []
        for index, (left, right) in enumerate(zip(recorded, actual, strict=True)):
            found += differences(left, right, summarized=summarized, path=f"{path}[{index}]")
        return found
    if type(recorded) is not type(actual):
        return [f"{path}: {recorded!r} recorded, {actual!r} answered"]
    key = path.rsplit(".", 1)[-1]
    if key not in VOLATILE and recorded != actual:
        return [f"{path}: {recorded!r} recorded, {actual!r} answered"]
    return []


def _dict_differences(
    recorded: dict[str, Any], actual: Any, *, summarized: bool, path: str
) -> list[str]:
    if not isinstance(actual, dict):
        return [f"{path}: expected an object, got {type(actual).__name__}"]
    shown = {k: v for k, v in recorded.items() if k != "_keys"}
    if "_keys" in recorded:
        expected_keys = set(recorded["_keys"])
        keys_ok = expected_keys == set(actual)
    else:
        expected_keys = set(shown)
        keys_ok = expected_keys <= set(actual) if summarized else expected_keys == set(actual)
    found = [] if keys_ok else [f"{path}: keys {sorted(expected_keys)} != {sorted(actual)}"]
    for key, value in shown.items():
        if key in actual:
            found += differences(value, actual[key], summarized=summarized, path=f"{path}.{key}")
    return found


def _roster_differences(recorded: dict[str, Any], actual: Any, path: str) -> list[str]:
    if not isinstance(actual, list) or len(actual) != recorded["count"]:
        return [f"{path}: roster of {recorded['count']} recorded, got {actual!r:.200}"]
    found: list[str] = []
    for index, (summary, user) in enumerate(zip(recorded["users"], actual, strict=True)):
        shown = {
            "id": user.get("id"),
            "username": user.get("username"),
            "roles": [r["shortname"] for r in user.get("roles", [])],
            "enrolledcourses": [c["id"] for c in user.get("enrolledcourses", [])],
        }
        for key, value in summary.items():
            if shown.get(key) != value:
                found.append(f"{path}[{index}].{key}: {value!r} recorded, {shown.get(key)!r}")
    return found
