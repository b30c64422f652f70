"""Hostile and broken files: each is refused with a precise, typed error and left untouched."""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from fusion.errors import FusionError
from fusion.testing.paths import MBZ_FIXTURES
from services.migration_orchestrator.preflight.archive import ArchiveLimits
from services.migration_orchestrator.preflight.errors import (
    ArchiveCorrupt,
    BackupRejected,
    BackupTooLarge,
    CompressionBomb,
    MalformedXml,
    NestingTooDeep,
    NotAMoodleBackup,
    NotAnArchive,
    TooManyMembers,
    UnsafeMember,
    UnsafeXml,
)
from services.migration_orchestrator.preflight.report import BackupReport

Analyse = Callable[..., BackupReport]
Build = Callable[..., Path]
MANIFEST = MBZ_FIXTURES / "moodle_311_quiz.mbz"
_MiB = 1024 * 1024


def _manifest_bytes() -> bytes:
    with tarfile.open(MANIFEST) as tar:
        member = tar.extractfile("moodle_backup.xml")
        assert member is not None
        return member.read()


def _tar_gz(
    path: Path, members: list[tuple[str, bytes]], special: tuple[tarfile.TarInfo, ...] = ()
) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in special:
            tar.addfile(info)
    return path


def _zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def _refused(
    analyse: Analyse, path: Path, error: type[FusionError], limits: ArchiveLimits | None = None
) -> FusionError:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(error) as caught:
        analyse(path, limits=limits)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert isinstance(caught.value, BackupRejected | BackupTooLarge)
    assert caught.value.message_fr
    assert caught.value.message_fr != caught.value.message
    return caught.value


@pytest.mark.parametrize("container", ["tar.gz", "zip"])
def test_truncated_archive_is_corrupt(
    build_backup: Build, analyse: Analyse, tmp_path: Path, container: str
) -> None:
    whole = build_backup(container=container).read_bytes()
    cut = tmp_path / "cut.mbz"
    cut.write_bytes(whole[: len(whole) // 2])
    error = _refused(analyse, cut, ArchiveCorrupt)
    assert error.status_code == 400
    assert error.code == "backup_corrupt"


@pytest.mark.parametrize(
    "content", [b"", b"hello, this is a text file\n", b"%PDF-1.7\n" * 50, b"Rar!\x1a\x07\x00"]
)
def test_a_file_that_is_no_archive_is_refused(
    analyse: Analyse, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "course.mbz"
    path.write_bytes(content)
    assert _refused(analyse, path, NotAnArchive).code == "backup_not_an_archive"


def test_gzip_that_holds_no_tar_is_corrupt(analyse: Analyse, tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "x.mbz"
    path.write_bytes(gzip.compress(b"not a tar stream at all" * 100))
    _refused(analyse, path, ArchiveCorrupt)


def test_archive_without_manifest_is_not_a_moodle_backup(analyse: Analyse, tmp_path: Path) -> None:
    path = _tar_gz(tmp_path / "x.mbz", [("readme.txt", b"hello")])
    assert _refused(analyse, path, NotAMoodleBackup).code == "backup_not_moodle"


def test_zip_bomb_is_refused_by_its_ratio(analyse: Analyse, tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "bomb.mbz",
        [("moodle_backup.xml", _manifest_bytes()), ("files/00/bomb", bytes(40 * _MiB))],
    )
    error = _refused(analyse, path, CompressionBomb)
    assert error.details["ratio"] > 200


def test_gzip_bomb_is_refused_while_streaming(analyse: Analyse, tmp_path: Path) -> None:
    path = _tar_gz(
        tmp_path / "bomb.mbz",
        [("moodle_backup.xml", _manifest_bytes()), ("files/00/bomb", bytes(40 * _MiB))],
    )
    _refused(analyse, path, CompressionBomb)


@pytest.mark.parametrize(
    "name",
    [
        "../escape.xml",
        "activities/../../escape.xml",
        "/etc/cron.d/evil",
        "C:/Windows/evil.xml",
        "activities\\..\\evil.xml",
    ],
)
@pytest.mark.parametrize("container", ["tar.gz", "zip"])
def test_paths_that_leave_the_archive_are_refused(
    analyse: Analyse, tmp_path: Path, name: str, container: str
) -> None:
    members: list[tuple[str, bytes]] = [("moodle_backup.xml", _manifest_bytes()), (name, b"x")]
    path = (
        _tar_gz(tmp_path / "t.mbz", members)
        if container == "tar.gz"
        else _zip(tmp_path / "t.mbz", list(members))
    )
    assert _refused(analyse, path, UnsafeMember).code == "backup_unsafe_member"


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE]
)
def test_links_and_devices_in_tar_are_refused(
    analyse: Analyse, tmp_path: Path, kind: bytes
) -> None:
    link = tarfile.TarInfo("users.xml")
    link.type, link.linkname = kind, "/etc/passwd"
    path = _tar_gz(tmp_path / "l.mbz", [("moodle_backup.xml", _manifest_bytes())], (link,))
    _refused(analyse, path, UnsafeMember)


def test_symlink_in_zip_is_refused(analyse: Analyse, tmp_path: Path) -> None:
    link = zipfile.ZipInfo("users.xml")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = _zip(
        tmp_path / "l.mbz", [("moodle_backup.xml", _manifest_bytes()), (link, b"/etc/passwd")]
    )
    _refused(analyse, path, UnsafeMember)


def test_a_member_given_twice_is_refused(analyse: Analyse, tmp_path: Path) -> None:
    path = _tar_gz(
        tmp_path / "d.mbz",
        [("moodle_backup.xml", _manifest_bytes()), ("moodle_backup.xml", _manifest_bytes())],
    )
    _refused(analyse, path, UnsafeMember)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<moodle_backup><information><name>&lol2;</name></information></moodle_backup>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE users [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<users><user id="1"><username>&secret;</username></user></users>"""


@pytest.mark.parametrize(
    ("name", "body"), [("moodle_backup.xml", BILLION_LAUGHS), ("users.xml", XXE)]
)
def test_xml_entities_and_dtds_are_refused(
    analyse: Analyse, tmp_path: Path, name: str, body: bytes
) -> None:
    members = (
        [(name, body)]
        if name == "moodle_backup.xml"
        else [("moodle_backup.xml", _manifest_bytes()), (name, body)]
    )
    error = _refused(analyse, _tar_gz(tmp_path / "e.mbz", members), UnsafeXml)
    assert error.details["member"] == name


def test_malformed_xml_is_refused(analyse: Analyse, tmp_path: Path) -> None:
    path = _tar_gz(tmp_path / "m.mbz", [("moodle_backup.xml", b"<moodle_backup><inf")])
    _refused(analyse, path, MalformedXml)


def test_deeply_nested_xml_is_refused(analyse: Analyse, tmp_path: Path) -> None:
    deep = b"<users>" + b"<user>" * 200 + b"</user>" * 200 + b"</users>"
    path = _tar_gz(
        tmp_path / "n.mbz", [("moodle_backup.xml", _manifest_bytes()), ("users.xml", deep)]
    )
    _refused(analyse, path, NestingTooDeep)


def test_deeply_nested_paths_are_refused(analyse: Analyse, tmp_path: Path) -> None:
    path = _tar_gz(
        tmp_path / "p.mbz",
        [("moodle_backup.xml", _manifest_bytes()), ("/".join(["d"] * 40) + "/x.xml", b"x")],
    )
    _refused(analyse, path, NestingTooDeep)


def test_too_many_members_are_refused(build_backup: Build, analyse: Analyse) -> None:
    _refused(analyse, build_backup(), TooManyMembers, ArchiveLimits(max_members=10))


def test_a_member_over_the_size_limit_is_refused(build_backup: Build, analyse: Analyse) -> None:
    error = _refused(
        analyse, build_backup(), BackupTooLarge, ArchiveLimits(max_member_bytes=200_000)
    )
    assert error.status_code == 413


def test_content_over_the_total_limit_is_refused(build_backup: Build, analyse: Analyse) -> None:
    _refused(
        analyse,
        build_backup(container="zip"),
        BackupTooLarge,
        ArchiveLimits(max_total_bytes=300_000),
    )


def test_an_oversized_whole_document_is_refused(analyse: Analyse) -> None:
    error = _refused(analyse, MANIFEST, BackupTooLarge, ArchiveLimits(max_xml_document_bytes=1_000))
    assert error.details == {"member": "moodle_backup.xml"}


def test_a_bomb_spread_over_many_small_zip_members_is_refused(
    analyse: Analyse, tmp_path: Path
) -> None:
    members: list[tuple[str | zipfile.ZipInfo, bytes]] = [("moodle_backup.xml", _manifest_bytes())]
    members += [(f"files/00/part{n}", bytes(_MiB)) for n in range(12)]
    limits = ArchiveLimits(ratio_check_after_bytes=4 * _MiB)
    _refused(analyse, _zip(tmp_path / "spread.mbz", members), CompressionBomb, limits)
