"""Errors raised by the Moodle client.

    UpstreamError (fusion.errors)
     ├── MoodleError                 Moodle answered HTTP 200 with {exception, errorcode, message}
     │    ├── MoodleInvalidToken         invalidtoken: the token is unknown (call-level)
     │    ├── MoodleAccessDenied         accessexception, nopermissions ... (call-level)
     │    ├── MoodleFunctionUnknown      invalidrecord on external_functions (call-level)
     │    ├── MoodleInvalidParameter     invalidparameter: a value or a row is malformed
     │    ├── MoodleRecordMissing        invalidrecord on another table
     │    ├── MoodleNoManualInstance     wsnoinstance: the course has no enabled manual instance
     │    ├── MoodleCannotAssignRole     wsusercannotassign
     │    ├── MoodleCodingError          codingerror (e.g. "User ID does not exist or is deleted!")
     │    ├── MoodlePhpError             a PHP error without errorcode (TypeError, ValueError ...)
     │    └── MoodleDuplicate            shortnametaken, courseidnumbertaken, username exists ...
     ├── MoodleProtocolError         the answer is not the JSON we asked for (XML, HTML, garbage)
     └── MoodleUnavailable (503)     transport failure, timeout, HTTP 5xx
    BadRequest (fusion.errors)
     └── MoodleRequestTooLarge       a call would exceed max_input_vars: refused, never sent

Call-level errors are the same for every row of a batch, so batching never bisects on them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fusion.errors import BadRequest, UpstreamError, UpstreamUnavailable


class MoodleError(UpstreamError):
    code = "moodle_error"
    call_level: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        exception: str,
        errorcode: str,
        wsfunction: str | None = None,
        debuginfo: str | None = None,
    ) -> None:
        super().__init__(
            message,
            message_fr=f"Moodle a refusé l'appel {wsfunction or ''} : {message}",
            details={"exception": exception, "errorcode": errorcode, "wsfunction": wsfunction},
        )
        self.exception = exception
        self.errorcode = errorcode
        self.wsfunction = wsfunction
        self.debuginfo = debuginfo

    def __str__(self) -> str:
        return f"{self.wsfunction}: {self.exception}/{self.errorcode}: {self.message}"


class MoodleInvalidToken(MoodleError):
    code = "moodle_invalid_token"
    call_level = True


class MoodleAccessDenied(MoodleError):
    code = "moodle_access_denied"
    call_level = True


class MoodleFunctionUnknown(MoodleError):
    code = "moodle_function_unknown"
    call_level = True


class MoodleInvalidParameter(MoodleError):
    code = "moodle_invalid_parameter"


class MoodleRecordMissing(MoodleError):
    code = "moodle_record_missing"


class MoodleNoManualInstance(MoodleError):
    code = "moodle_no_manual_instance"


class MoodleCannotAssignRole(MoodleError):
    code = "moodle_cannot_assign_role"


class MoodleCodingError(MoodleError):
    code = "moodle_coding_error"


class MoodleDuplicate(MoodleError):
    code = "moodle_duplicate"


class MoodlePhpError(MoodleError):
    """A PHP ``Error`` escaped the function: the body has no ``errorcode``. Moodle 4.5 answers
    a nonexistent user in ``enrol_manual_enrol_users`` this way (a TypeError in
    ``core\\user::get_name_placeholders``); the call was rolled back like any other."""

    code = "moodle_php_error"


class MoodleProtocolError(UpstreamError):
    code = "moodle_protocol_error"


class MoodleUnavailable(UpstreamUnavailable):
    code = "moodle_unavailable"


class MoodleRequestTooLarge(BadRequest):
    code = "moodle_request_too_large"


_BY_ERRORCODE: dict[str, type[MoodleError]] = {
    "invalidtoken": MoodleInvalidToken,
    "accessexception": MoodleAccessDenied,
    "nopermissions": MoodleAccessDenied,
    "requireloginerror": MoodleAccessDenied,
    "invalidparameter": MoodleInvalidParameter,
    "wsnoinstance": MoodleNoManualInstance,
    "wsusercannotassign": MoodleCannotAssignRole,
    "codingerror": MoodleCodingError,
    "shortnametaken": MoodleDuplicate,
    "courseidnumbertaken": MoodleDuplicate,
    "categoryidnumbertaken": MoodleDuplicate,  # core_course_category::create
    "usernameexists": MoodleDuplicate,
}

_BY_EXCEPTION: dict[str, type[MoodleError]] = {
    "webservice_access_exception": MoodleAccessDenied,
    "required_capability_exception": MoodleAccessDenied,
    "invalid_parameter_exception": MoodleInvalidParameter,
    "coding_exception": MoodleCodingError,
}


def exception_class(exception: str) -> str:
    """``core\\exception\\moodle_exception`` (4.2+) and ``moodle_exception`` (4.1) alike."""
    return exception.rsplit("\\", 1)[-1]


def moodle_error_from_body(body: dict[str, Any], *, wsfunction: str | None) -> MoodleError:
    """Build the typed error for one Moodle error body (HTTP 200, ``exception`` key)."""
    exception = str(body.get("exception", ""))
    errorcode = str(body.get("errorcode", ""))
    message = str(body.get("message", ""))
    fallback = MoodleError if "errorcode" in body else MoodlePhpError
    cls = _BY_ERRORCODE.get(errorcode) or _BY_EXCEPTION.get(exception_class(exception), fallback)
    if errorcode == "invalidrecord":
        # Moodle reports an unknown wsfunction as a missing row of external_functions.
        unknown_function = "external_functions" in message
        cls = MoodleFunctionUnknown if unknown_function else MoodleRecordMissing
    debuginfo = body.get("debuginfo")
    return cls(
        message,
        exception=exception,
        errorcode=errorcode,
        wsfunction=wsfunction,
        debuginfo=str(debuginfo) if debuginfo is not None else None,
    )
