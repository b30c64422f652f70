"""Safe, streaming reading of backup XML: no DTD, no entity, no external reference (defusedxml),
bounded nesting, and memory bounded by one record (a user, a question) rather than the file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from services.migration_orchestrator.preflight.errors import (
    BackupTooLarge,
    MalformedXml,
    NestingTooDeep,
    UnsafeXml,
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
    stream: Readable, *, paths: Iterable[Path], member: str, max_depth: int
) -> Iterator[tuple[Path, Element]]:
    """Yield each element whose path from the root is one of `paths`, complete, then free it."""
    wanted = frozenset(paths)
    stack: list[Element] = []
    names: list[str] = []
    kept = 0  # depth of the outermost open record, 0 when none is open
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                stack.append(element)
                names.append(element.tag)
                if len(stack) > max_depth:
                    raise too_deep(member, max_depth)
                if not kept and tuple(names) in wanted:
                    kept = len(stack)
                continue
            path = tuple(names)
            if path in wanted:
                yield path, element
            if kept == len(stack):
                kept = 0
            stack.pop()
            names.pop()
            if not kept and stack:
                # the parser may already hold later siblings: remove this one by identity
                stack[-1].remove(element)
    except DefusedXmlException as error:
        raise UnsafeXml(
            f"{member} declares a DTD or entities, which a backup never does; refused.",
            message_fr=f"{member} déclare une DTD ou des entités, ce que ne fait jamais une "
            "sauvegarde ; refusé.",
            details={"member": member, "reason": type(error).__name__},
        ) from error
    except ParseError as error:
        raise MalformedXml(
            f"{member} is not well-formed XML ({error}).",
            message_fr=f"{member} n'est pas un XML bien formé ({error}).",
            details={"member": member},
        ) from error


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
    stream: Readable, *, member: str, max_depth: int, max_bytes: int, root: str
) -> Element:
    """A small document (manifest, course, one activity) whole, with the same protections."""
    capped = _Capped(stream, member=member, limit=max_bytes)
    for _, element in records(capped, paths=[(root,)], member=member, max_depth=max_depth):
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
