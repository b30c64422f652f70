"""The exceptions a WS function raises, rendered by the server as Moodle's error body."""

from __future__ import annotations


class WsException(Exception):
    def __init__(self, exception: str, errorcode: str, message: str) -> None:
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message

    def body(self) -> dict[str, str]:
        return {"exception": self.exception, "errorcode": self.errorcode, "message": self.message}


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
