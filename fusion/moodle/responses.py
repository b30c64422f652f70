"""Reading Moodle's answers: JSON bodies, error bodies in HTTP 200, per-row warnings."""

from __future__ import annotations

from typing import Any

import httpx

from fusion.moodle.errors import (
    MoodleError,
    MoodleProtocolError,
    MoodleUnavailable,
    moodle_error_from_body,
)
from fusion.moodle.rows import JsonDict


def warnings_by_item(answer: Any, wsfunction: str) -> dict[int, MoodleError]:
    warnings = answer.get("warnings", []) if isinstance(answer, dict) else []
    refused: dict[int, MoodleError] = {}
    for warning in warnings:
        code = str(warning.get("warningcode", ""))
        error = MoodleError(
            str(warning.get("message", "")),
            exception="warning",
            errorcode=code,
            wsfunction=wsfunction,
        )
        refused[int(warning.get("itemid", 0) or 0)] = error
    return refused


def decode_response(wsfunction: str, response: httpx.Response) -> Any:
    if response.status_code >= 500:
        raise MoodleUnavailable(
            f"{wsfunction}: Moodle answered HTTP {response.status_code}",
            message_fr=f"{wsfunction} : Moodle a répondu HTTP {response.status_code}.",
        )
    if response.status_code != 200:
        raise MoodleProtocolError(
            f"{wsfunction}: Moodle answered HTTP {response.status_code}",
            message_fr=f"{wsfunction} : Moodle a répondu HTTP {response.status_code}.",
        )
    try:
        body = response.json()
    except ValueError as error:
        raise MoodleProtocolError(
            f"{wsfunction}: the answer is not JSON (REST protocol or format misconfigured?)",
            message_fr=f"{wsfunction} : la réponse n'est pas du JSON.",
        ) from error
    # Moodle's REST server adds ``errorcode`` only for its own exceptions; a PHP error
    # (TypeError, ValueError ...) answers {exception, message} alone, and the whole call was
    # rolled back all the same (webservice_rest_server::generate_error).
    if isinstance(body, dict) and "exception" in body:
        raise moodle_error_from_body(body, wsfunction=wsfunction)
    return body


def as_dict(answer: Any) -> JsonDict:
    if not isinstance(answer, dict):
        raise MoodleProtocolError(
            f"expected a JSON object, got {type(answer).__name__}",
            message_fr="Moodle n'a pas renvoyé l'objet attendu.",
        )
    return answer


def as_list(answer: Any) -> list[JsonDict]:
    if not isinstance(answer, list):
        raise MoodleProtocolError(
            f"expected a JSON list, got {type(answer).__name__}",
            message_fr="Moodle n'a pas renvoyé la liste attendue.",
        )
    return answer
