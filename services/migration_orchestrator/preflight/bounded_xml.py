"""Expat as backup XML needs it: no DTD, no entity, and no token that grows without bound.

Expat (2.5, the release in use) rescans an unfinished token from its start at every chunk it is
fed, so one 30 MiB attribute cost 110 s of CPU, and a 300 MiB one would run for hours after the
client has gone. Each parser here is fed in small chunks and refuses a token (a tag and its
attributes) once more than `max_token_bytes` have gone by without the parser reporting anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from xml.parsers import expat

from services.migration_orchestrator.preflight.errors import (
    BackupTooLarge,
    MalformedXml,
    UnsafeXml,
)

FEED_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class XmlBounds:
    max_depth: int
    max_token_bytes: int
    max_record_bytes: int


def refuse_dtd(member: str, reason: str) -> Callable[..., None]:
    def refuse(*_: object) -> None:
        raise UnsafeXml(
            f"{member} declares a DTD or entities, which a backup never does; refused.",
            message_fr=f"{member} déclare une DTD ou des entités, ce que ne fait jamais une "
            "sauvegarde ; refusé.",
            details={"member": member, "reason": reason},
        )

    return refuse


class GuardedParser:
    """One expat parser over one member; handlers call `progress()` when they are called."""

    def __init__(self, *, member: str, bounds: XmlBounds) -> None:
        self.member, self.bounds = member, bounds
        parser = expat.ParserCreate()
        parser.buffer_text = False  # text arrives as it is parsed: a long text is progress
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = refuse_dtd(member, "DTDForbidden")
        parser.EntityDeclHandler = refuse_dtd(member, "EntitiesForbidden")
        self.expat = parser
        self._fed = 0
        self._last_event = 0

    def progress(self) -> int:
        """Note that the parser reported something; returns the byte offset it reported at."""
        self._last_event = self.expat.CurrentByteIndex
        return self._last_event

    def feed(self, data: bytes, *, final: bool = False) -> None:
        for start in range(0, len(data), FEED_BYTES):
            self._parse(data[start : start + FEED_BYTES], final=False)
        if final:
            self._parse(b"", final=True)

    def _parse(self, data: bytes, *, final: bool) -> None:
        self._fed += len(data)
        try:
            self.expat.Parse(data, final)
        except expat.ExpatError as error:
            raise MalformedXml(
                f"{self.member} is not well-formed XML ({error}).",
                message_fr=f"{self.member} n'est pas un XML bien formé ({error}).",
                details={"member": self.member},
            ) from error
        if self._fed - self._last_event > self.bounds.max_token_bytes:
            raise oversized(self.member, "a tag", "une balise", self.bounds.max_token_bytes)


def oversized(member: str, what: str, what_fr: str, limit: int) -> BackupTooLarge:
    return BackupTooLarge(
        f"{member} holds {what} larger than {limit} bytes, which Moodle never writes; refused.",
        message_fr=f"{member} contient {what_fr} de plus de {limit} octets, ce que Moodle "
        "n'écrit jamais ; refusé.",
        details={"member": member, "limit_bytes": limit},
    )
