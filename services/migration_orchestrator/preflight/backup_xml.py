"""Safe, streaming reading of backup XML: no DTD, no entity, no external reference, bounded
nesting and tokens, and memory bounded by one record (a user, a question) rather than the file;
a record itself is bounded too, so one 300 MiB user is refused instead of built."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol
from xml.etree.ElementTree import Element, SubElement

from services.migration_orchestrator.preflight.bounded_xml import (
    FEED_BYTES,
    GuardedParser,
    XmlBounds,
    oversized,
)
from services.migration_orchestrator.preflight.errors import (
    BackupTooLarge,
    MalformedXml,
    NestingTooDeep,
)

NULL = "$@NULL@$"
Path = tuple[str, ...]


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def text(element: Element, tag: str) -> str | None:
    """The text of a direct child, with Moodle's NULL sentinel and absence both as None."""
    child = element.find(tag)
    if child is None or child.text == NULL:
        return None
    return (child.text or "").strip()


def integer(element: Element, tag: str) -> int | None:
    value = text(element, tag)
    try:
        return int(value) if value else None
    except ValueError:
        return None


def records(
    stream: Readable, *, paths: Iterable[Path], member: str, bounds: XmlBounds
) -> Iterator[tuple[Path, Element]]:
    """Yield each element whose path from the root is one of `paths`, complete, then free it.
    Only elements inside such a record are built; a record beyond `max_record_bytes` is refused."""
    builder = _RecordBuilder(frozenset(paths), member=member, bounds=bounds)
    while data := stream.read(FEED_BYTES):
        builder.parser.feed(data)
        yield from builder.take()
    builder.parser.feed(b"", final=True)
    yield from builder.take()


class _RecordBuilder:
    def __init__(self, wanted: frozenset[Path], *, member: str, bounds: XmlBounds) -> None:
        self.parser = GuardedParser(member=member, bounds=bounds)
        self.parser.expat.StartElementHandler = self._start
        self.parser.expat.EndElementHandler = self._end
        self.parser.expat.CharacterDataHandler = self._text
        self._wanted, self._member, self._bounds = wanted, member, bounds
        self._names: list[str] = []
        self._open: list[Element] = []  # the elements of the record being built
        self._record_start = 0
        self._text_parts: list[str] = []
        self._text_of: tuple[Element, str] | None = None  # (element, "text" or "tail")
        self._ready: list[tuple[Path, Element]] = []

    def take(self) -> list[tuple[Path, Element]]:
        ready, self._ready = self._ready, []
        return ready

    def _start(self, tag: str, attributes: dict[str, str]) -> None:
        offset = self.parser.progress()
        self._names.append(tag)
        if len(self._names) > self._bounds.max_depth:
            raise too_deep(self._member, self._bounds.max_depth)
        if self._open:
            self._flush_text()
            self._open.append(SubElement(self._open[-1], tag, attributes))
        elif tuple(self._names) in self._wanted:
            self._record_start = offset
            self._open.append(Element(tag, attributes))
        else:
            return
        self._text_of = (self._open[-1], "text")
        self._check_record(offset)

    def _end(self, _: str) -> None:
        offset = self.parser.progress()
        path = tuple(self._names)
        self._names.pop()
        if not self._open:
            return
        self._check_record(offset)
        self._flush_text()
        element = self._open.pop()
        self._text_of = (element, "tail") if self._open else None
        if path in self._wanted:
            self._ready.append((path, element))

    def _text(self, data: str) -> None:
        offset = self.parser.progress()
        if self._text_of is not None:
            self._text_parts.append(data)
            self._check_record(offset)

    def _flush_text(self) -> None:
        if self._text_parts and self._text_of is not None:
            element, attribute = self._text_of
            setattr(element, attribute, "".join(self._text_parts))
        self._text_parts = []

    def _check_record(self, offset: int) -> None:
        if offset - self._record_start > self._bounds.max_record_bytes:
            raise oversized(
                self._member, "a record", "un enregistrement", self._bounds.max_record_bytes
            )


class _Capped:
    def __init__(self, stream: Readable, *, member: str, limit: int) -> None:
        self._stream, self._member, self._left = stream, member, limit

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise BackupTooLarge(
                f"{self._member} is too large to be a document Moodle writes whole.",
                message_fr=f"{self._member} est trop volumineux pour un document que Moodle "
                "écrit d'un bloc.",
                details={"member": self._member},
            )
        return data


def document(
    stream: Readable, *, member: str, bounds: XmlBounds, max_bytes: int, root: str
) -> Element:
    """A small document (manifest, course, one activity) whole, with the same protections."""
    capped = _Capped(stream, member=member, limit=max_bytes)
    whole = XmlBounds(bounds.max_depth, bounds.max_token_bytes, max_record_bytes=max_bytes)
    for _, element in records(capped, paths=[(root,)], member=member, bounds=whole):
        return element
    raise MalformedXml(
        f"{member} has no <{root}> root element.",
        message_fr=f"{member} n'a pas d'élément racine <{root}>.",
        details={"member": member},
    )


def too_deep(member: str, max_depth: int) -> NestingTooDeep:
    return NestingTooDeep(
        f"{member} nests elements more than {max_depth} levels deep.",
        message_fr=f"{member} imbrique des éléments sur plus de {max_depth} niveaux.",
        details={"member": member, "limit": max_depth},
    )
