"""``webservice/rest/server.php``: token, function, parameters, transaction, rendering.

Order of checks as recorded on Moodle 4.1.13: the token first (even before an unknown
function), then the function name, then the service, then the parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sim.moodle import functions as _registered  # noqa: F401  (fills the registry)
from sim.moodle.params import validate
from sim.moodle.php_form import parse_fields, to_php_array
from sim.moodle.platform import Platform
from sim.moodle.registry import FUNCTIONS, Call, known_to_moodle
from sim.moodle.rest_xml import xml_error, xml_response
from sim.moodle.ws_errors import (
    WsException,
    access_exception,
    invalid_parameter,
    invalid_token,
    missing_record,
)

JSON_TYPE = "application/json"
XML_TYPE = "application/xml; charset=utf-8"


@dataclass(frozen=True)
class RestAnswer:
    body: str
    content_type: str


def handle_rest(platform: Platform, *, query: str, body: str) -> RestAnswer:
    # PHP applies max_input_vars to each input source; the POST body is where it bites.
    limit = platform.site.max_input_vars
    fields = parse_fields(query, max_input_vars=limit) + parse_fields(body, max_input_vars=limit)
    request = to_php_array(fields)
    as_json = request.get("moodlewsrestformat") == "json"
    wsfunction = request.get("wsfunction")
    try:
        result = _run(platform, request)
    except WsException as error:
        _count(platform, wsfunction, request)
        exception = platform.site.profile.exception_name(error.exception)
        if as_json:
            return RestAnswer(json.dumps(error.body(exception)), JSON_TYPE)
        return RestAnswer(xml_error(exception, error.errorcode, error.message), XML_TYPE)
    _count(platform, wsfunction, request)
    if as_json:
        return RestAnswer(json.dumps(result), JSON_TYPE)
    return RestAnswer(xml_response(result), XML_TYPE)


def _run(platform: Platform, request: dict[str, Any]) -> Any:
    token = platform.tokens.get(str(request.get("wstoken", "")))
    if token is None:
        raise invalid_token()
    name = request.get("wsfunction")
    if not isinstance(name, str) or not name:
        raise invalid_parameter()
    if not known_to_moodle(name):
        raise missing_record("external_functions")
    function = FUNCTIONS.get(name)
    if function is None or name not in token.functions:
        raise access_exception()
    raw = {
        k: v for k, v in request.items() if k not in ("wstoken", "wsfunction", "moodlewsrestformat")
    }
    params = validate(function.params, raw)
    call = Call(platform, token)
    if not function.transactional:
        return function.handler(call, params)
    with platform.transaction():
        return function.handler(call, params)


def _count(platform: Platform, wsfunction: Any, request: dict[str, Any]) -> None:
    if not isinstance(wsfunction, str) or wsfunction not in FUNCTIONS:
        return
    platform.calls[wsfunction] += 1
    rows_key = FUNCTIONS[wsfunction].rows_key
    rows = request.get(rows_key) if rows_key else None
    platform.rows[wsfunction] += len(rows) if isinstance(rows, dict) else 0
