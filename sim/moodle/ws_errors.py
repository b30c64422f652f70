"""The exceptions a WS function raises, rendered by the server as Moodle's error body."""

from __future__ import annotations


class WsException(Exception):
    """``errorcode`` None: a PHP ``Error`` (TypeError ...), which has no ``errorcode``
    property, so ``generate_error`` leaves the key out of the body."""

    def __init__(self, exception: str, errorcode: str | None, message: str) -> None:
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message

    def body(self, exception: str | None = None) -> dict[str, str]:
        body = {"exception": exception or self.exception}
        if self.errorcode is not None:
            body["errorcode"] = self.errorcode
        body["message"] = self.message
        return body


def invalid_parameter() -> WsException:
    return WsException(
        "invalid_parameter_exception", "invalidparameter", "Invalid parameter value detected"
    )


def missing_record(table: str) -> WsException:
    return WsException(
        "dml_missing_record_exception",
        "invalidrecord",
        f"Can't find data record in database table {table}.",
    )


def moodle_exception(errorcode: str, message: str) -> WsException:
    return WsException("moodle_exception", errorcode, message)


def coding_error(detail: str) -> WsException:
    return WsException(
        "coding_exception",
        "codingerror",
        f"Coding error detected, it must be fixed by a programmer: {detail}",
    )


def php_type_error(message: str) -> WsException:
    return WsException("TypeError", None, message)


def invalid_token() -> WsException:
    return moodle_exception("invalidtoken", "Invalid token - token not found")


def access_exception() -> WsException:
    return WsException("webservice_access_exception", "accessexception", "Access control exception")


def no_permission(capability: str) -> WsException:
    return WsException(
        "required_capability_exception",
        "nopermissions",
        f"Sorry, but you do not currently have permissions to do that ({capability}).",
    )
