"""Reading the files an administrator may give instead of a live source.

* ``mdl_user`` export (CSV, header required, UTF-8), made on the platform's database with::

      SELECT id, username, email, firstname, lastname, idnumber, auth,
             firstaccess, lastaccess, deleted, suspended
        FROM mdl_user WHERE mnethostid = (SELECT value FROM mdl_config
                                          WHERE name = 'mnet_localhost_id')
       ORDER BY id;

  (``COPY (...) TO STDOUT WITH CSV HEADER`` on PostgreSQL). Deleted accounts are kept: restore
  matching looks at them (moodle.md §9, cases 1C, 2B, 2C).
* Directory as LDIF (``ldapsearch -LLL`` output) or CSV with the SupAnn attribute names as
  header (``supannRefId`` values separated by ``|``).

A file is read whole before anything is written: a bad line rejects the file, with its number.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Iterator

from fusion.errors import BadRequest
from services.identity.records import AccountFacts, DirectoryEntry

MDL_USER_COLUMNS = ("id", "username", "email", "firstname", "lastname", "idnumber", "auth")
OPTIONAL_INT_COLUMNS = ("firstaccess", "lastaccess")
DIRECTORY_ATTRIBUTES = {
    "uid": "uid",
    "mail": "mail",
    "sn": "sn",
    "givenname": "given_name",
    "supannetuid": "etu_id",
    "supannempid": "emp_id",
    "supanncodeine": "ine",
    "edupersonprincipalname": "eppn",
}


class ImportFileRejected(BadRequest):
    code = "import_file_rejected"


def _reject(line: int, problem: str, problem_fr: str) -> ImportFileRejected:
    return ImportFileRejected(
        f"Line {line}: {problem}.",
        message_fr=f"Ligne {line} : {problem_fr}.",
        details={"line": line},
    )


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileRejected(
            "The file is not UTF-8 text.", message_fr="Le fichier n'est pas du texte UTF-8."
        ) from error


def read_mdl_user_csv(data: bytes, *, platform: str) -> list[AccountFacts]:
    reader = csv.DictReader(io.StringIO(_text(data), newline=""))
    missing = [c for c in MDL_USER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise _reject(
            1,
            f"missing column(s) {', '.join(missing)}",
            f"colonne(s) absente(s) {', '.join(missing)}",
        )
    return [_account_row(platform, row, reader.line_num) for row in reader]


def _int(row: dict[str, str], name: str, line: int) -> int:
    value = (row.get(name) or "0").strip()
    if not value.isdigit():
        raise _reject(line, f"'{name}' is not a whole number", f"« {name} » n'est pas un entier")
    return int(value)


def _account_row(platform: str, row: dict[str, str], line: int) -> AccountFacts:
    if None in row or any(row.get(c) is None for c in MDL_USER_COLUMNS):
        raise _reject(line, "wrong number of fields", "nombre de champs incorrect")
    moodle_id = _int(row, "id", line)
    if moodle_id < 1 or not row["username"].strip():
        raise _reject(
            line, "an account needs an id and a username", "un compte exige un id et un identifiant"
        )
    return AccountFacts(
        platform=platform,
        moodle_id=moodle_id,
        username=row["username"].strip(),
        email=row["email"].strip(),
        firstname=row["firstname"],
        lastname=row["lastname"],
        idnumber=row["idnumber"].strip(),
        auth=row["auth"].strip() or "manual",
        firstaccess=_int(row, "firstaccess", line),
        lastaccess=_int(row, "lastaccess", line),
        deleted=(row.get("deleted") or "0").strip() not in ("", "0"),
        suspended=(row.get("suspended") or "0").strip() not in ("", "0"),
    )


def entry_from_attributes(attributes: dict[str, list[str]], line: int) -> DirectoryEntry:
    """A directory entry from attribute values (names case-insensitive, first value kept)."""
    lowered = {k.lower(): v for k, v in attributes.items()}
    fields = {
        field: (lowered.get(name) or [""])[0].strip()
        for name, field in DIRECTORY_ATTRIBUTES.items()
    }
    if not fields["uid"]:
        raise _reject(line, "an entry without uid", "une entrée sans uid")
    refs = tuple(v.strip() for v in lowered.get("supannrefid", []) if v.strip())
    return DirectoryEntry(ref_ids=refs, **fields)


def read_directory_csv(data: bytes) -> list[DirectoryEntry]:
    reader = csv.DictReader(io.StringIO(_text(data), newline=""))
    if "uid" not in [f.strip() for f in reader.fieldnames or []]:
        raise _reject(1, "missing column uid", "colonne uid absente")
    entries = []
    for row in reader:
        if None in row:
            raise _reject(reader.line_num, "wrong number of fields", "nombre de champs incorrect")
        attributes = {k.strip(): [v] for k, v in row.items() if k and k.strip() != "supannRefId"}
        attributes["supannRefId"] = (row.get("supannRefId") or "").split("|")
        entries.append(entry_from_attributes(attributes, reader.line_num))
    return entries


def _ldif_records(text: str) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    """Records of unfolded lines (RFC 2849: a line starting with one space continues the last)."""
    record: list[tuple[int, str]] = []
    start = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith(" ") and record:
            record[-1] = (record[-1][0], record[-1][1] + raw[1:])
        elif not raw.strip():
            if record:
                yield start, record
            record = []
        elif not raw.startswith("#"):
            if not record:
                start = number
            record.append((number, raw))
    if record:
        yield start, record


def read_ldif(data: bytes) -> list[DirectoryEntry]:
    entries = []
    for start, record in _ldif_records(_text(data)):
        attributes: dict[str, list[str]] = {}
        for number, line in record:
            name, sep, value = line.partition(":")
            if not sep:
                raise _reject(number, "a line without ':'", "une ligne sans « : »")
            if value.startswith(":"):
                try:
                    value = base64.b64decode(value[1:].strip(), validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError) as error:
                    raise _reject(number, "bad base64 value", "valeur base64 invalide") from error
            attributes.setdefault(name.strip(), []).append(value.strip())
        if "dn" in attributes and any(k.lower() == "uid" for k in attributes):
            entries.append(entry_from_attributes(attributes, start))
    return entries
