"""H5P packages embedded in rich text (intros, pages, labels, section summaries).

Moodle's editors embed a package either as a placeholder the filter turns into a player,
``<div class="h5p-placeholder">@@PLUGINFILE@@/quiz.h5p</div>``, or as an iframe on the embed
page, ``<iframe src=".../h5p/embed.php?url=<url-encoded package URL>">``; a backup writes
``$@H5PEMBED@$`` for the site's own embed page. The HTML sits escaped in the text of activity
and section XML members. Those members are scanned as their bytes go by (a tee feeding an
incremental expat parser), one element's text at a time and in bounded windows, so neither a
whole document nor a whole huge text field is ever held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from services.migration_orchestrator.preflight import backup_xml as bx
from services.migration_orchestrator.preflight.bounded_xml import GuardedParser, XmlBounds

_PLACEHOLDER = re.compile(
    r"""<div\b[^>]*\bclass\s*=\s*["'][^"']*\bh5p-placeholder\b[^"']*["'][^>]*>\s*([^<\s]+)\s*<""",
    re.IGNORECASE,
)
_EMBED = re.compile(r"""(?:/h5p/embed\.php|\$@H5PEMBED@\$)\?url=([^"'&\s<>]+)""", re.IGNORECASE)
_PLUGINFILE = re.compile(r"/pluginfile\.php/(\d+)/([a-z0-9_]+)/([a-z0-9_]+)/(?:\d+/)?(.*)$")
PLUGINFILE_TOKEN = "@@PLUGINFILE@@"
_WINDOW = 1 << 20  # scan a text field every MiB, keeping a tail for references across the cut
_OVERLAP = 8192


@dataclass(frozen=True, slots=True)
class H5pReference:
    """A package referenced from rich text: `reference` as written once URL-decoded."""

    field: str
    reference: str
    filepath: str
    filename: str
    # None for @@PLUGINFILE@@ (the embedding place's own area), else the linked file's context
    contextid: int | None
    component: str | None


def parse_reference(field_name: str, raw: str) -> H5pReference | None:
    reference = unquote(raw.replace("&amp;", "&")).strip()
    if reference.startswith(PLUGINFILE_TOKEN):
        path, contextid, component = reference[len(PLUGINFILE_TOKEN) :], None, None
    else:
        match = _PLUGINFILE.search(urlsplit(reference).path)
        if match is None:
            return None  # an external player (h5p.com...): no package to carry
        contextid, component, path = int(match.group(1)), match.group(2), "/" + match.group(4)
    path = urlsplit(path).path
    if not path.lower().endswith(".h5p"):
        return None
    directory, _, filename = path.rpartition("/")
    return H5pReference(field_name, reference, f"{directory}/", filename, contextid, component)


def find_references(field_name: str, text: str) -> list[H5pReference]:
    found = []
    for pattern in (_PLACEHOLDER, _EMBED):
        for match in pattern.finditer(text):
            reference = parse_reference(field_name, match.group(1))
            if reference is not None:
                found.append(reference)
    return found


@dataclass(frozen=True, slots=True)
class Embedding:
    """Where a reference sits: an activity (with its context) or a section summary."""

    cmid: int | None
    section_id: int | None
    contextid: int | None
    reference: H5pReference


@dataclass
class _Open:
    tag: str
    text: list[str] = field(default_factory=list)
    size: int = 0


class RichTextScanner:
    """Incremental expat parser over one member: DTDs and entities refused, depth bounded."""

    def __init__(self, *, member: str, bounds: XmlBounds) -> None:
        self.member = member
        self.root_attributes: dict[str, str] = {}
        self.references: list[H5pReference] = []
        self._seen: set[tuple[str, str]] = set()
        self._max_depth = bounds.max_depth
        self._open: list[_Open] = []
        self._parser = GuardedParser(member=member, bounds=bounds)
        self._parser.expat.StartElementHandler = self._start
        self._parser.expat.EndElementHandler = self._end
        self._parser.expat.CharacterDataHandler = self._text

    def feed(self, data: bytes, *, final: bool = False) -> None:
        self._parser.feed(data, final=final)

    def _start(self, tag: str, attributes: dict[str, str]) -> None:
        self._parser.progress()
        if not self._open:
            self.root_attributes = dict(attributes)
        self._open.append(_Open(tag))
        if len(self._open) > self._max_depth:
            raise bx.too_deep(self.member, self._max_depth)

    def _text(self, data: str) -> None:
        self._parser.progress()
        current = self._open[-1] if self._open else None
        if current is None:
            return
        current.text.append(data)
        current.size += len(data)
        if current.size > _WINDOW:
            window = "".join(current.text)
            self._scan(current.tag, window)
            current.text, current.size = [window[-_OVERLAP:]], _OVERLAP

    def _end(self, _: str) -> None:
        self._parser.progress()
        closed = self._open.pop()
        if closed.text:
            self._scan(closed.tag, "".join(closed.text))

    def _scan(self, tag: str, text: str) -> None:
        if "h5p" not in text.lower() and "H5PEMBED" not in text:
            return
        for reference in find_references(tag, text):
            key = (reference.field, reference.reference)
            if key not in self._seen:
                self._seen.add(key)
                self.references.append(reference)


class ScannedStream:
    """Passes a member's bytes through unchanged, feeding them to a scanner on the way."""

    def __init__(self, stream: bx.Readable, scanner: RichTextScanner) -> None:
        self._stream, self._scanner = stream, scanner

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._scanner.feed(data)
        return data

    def finish(self) -> RichTextScanner:
        """Read what the consumer left, close the document and hand the scanner back."""
        while self.read(1 << 20):
            pass
        self._scanner.feed(b"", final=True)
        return self._scanner
