"""Faults the simulator can inject on chosen web-service functions, for fault tests.

A fault is armed for one platform and one function and hits the next ``times`` calls (after
letting ``skip`` calls through):

- ``latency``: the call is answered normally, ``seconds`` late;
- ``timeout``: nothing is applied, the answer (HTTP 504) comes ``seconds`` late, after any
  sensible client timeout: the client cannot tell it from a lost answer;
- ``lost_answer``: the call **is applied**, then its answer comes ``seconds`` late: the
  client times out on a write that landed;
- ``php_error``: nothing is applied, Moodle answers a PHP ``Error`` body, which has no
  ``errorcode`` (``webservice_rest_server::generate_error``);
- ``http_error``: nothing is applied, the web server answers HTTP ``status`` (500 by
  default) with an HTML page.

Tests in the same process arm them on ``SimMoodle.faults``; other processes through
``POST /{platform}/_sim/faults`` (a JSON list of faults), ``GET`` to read what was hit and
``DELETE`` to disarm everything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

FaultKind = Literal["latency", "timeout", "lost_answer", "php_error", "http_error"]
KINDS: tuple[str, ...] = ("latency", "timeout", "lost_answer", "php_error", "http_error")
PHP_ERROR_MESSAGE = "Call to a member function get_context() on null"


@dataclass
class Fault:
    platform: str
    function: str
    kind: FaultKind
    times: int = 1
    skip: int = 0
    seconds: float = 0.0
    status: int = 500
    hits: int = 0

    @classmethod
    def parse(cls, platform: str, raw: dict[str, Any]) -> Fault:
        kind = str(raw.get("kind", ""))
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        return cls(
            platform=platform,
            function=str(raw["function"]),
            kind=kind,  # type: ignore[arg-type]
            times=max(0, int(raw.get("times", 1))),
            skip=max(0, int(raw.get("skip", 0))),
            seconds=min(60.0, max(0.0, float(raw.get("seconds", 0.0)))),
            status=int(raw.get("status", 500)),
        )


class Faults:
    def __init__(self) -> None:
        self._armed: list[Fault] = []

    def arm(self, fault: Fault) -> Fault:
        self._armed.append(fault)
        return fault

    def clear(self, platform: str | None = None) -> None:
        self._armed = [f for f in self._armed if platform is not None and f.platform != platform]

    def armed_for(self, platform: str) -> bool:
        return any(f.platform == platform and f.times > 0 for f in self._armed)

    def take(self, platform: str, function: str | None) -> Fault | None:
        """The fault this call meets, if any (spending one of its hits)."""
        for fault in self._armed:
            if fault.platform != platform or fault.function != function or fault.times <= 0:
                continue
            if fault.skip > 0:
                fault.skip -= 1
                return None
            fault.times -= 1
            fault.hits += 1
            return fault
        return None

    def report(self, platform: str) -> list[dict[str, Any]]:
        return [asdict(f) for f in self._armed if f.platform == platform]


def wsfunction_of(query: str, body: str) -> str | None:
    for text in (query, body):
        for name, value in parse_qsl(text, keep_blank_values=True):
            if name == "wsfunction":
                return value
    return None


def php_error_body() -> dict[str, str]:
    return {"exception": "Error", "message": PHP_ERROR_MESSAGE}
