"""A real OpenLDAP ``slapd`` on loopback, started by a fixture, with the SupAnn attributes.

Debian's slapd ships no SupAnn or eduPerson schema, so the fixture declares the attributes
identity reads (``supannEtuId``, ``supannEmpId``, ``supannCodeINE``, ``supannRefId``,
``eduPersonPrincipalName``) on an auxiliary class, under a private test OID arc: the names and
syntaxes are the ones directories use, the OIDs are not SupAnn's.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fusion.testing.processes import free_port

SLAPD = "/usr/sbin/slapd"
SCHEMA_DIR = Path("/etc/ldap/schema")
BASE_DN = "dc=univ,dc=test"
ADMIN_DN = f"cn=admin,{BASE_DN}"
PEOPLE_DN = f"ou=people,{BASE_DN}"
ADMIN_PASSWORD = "test-only-password"
_ARC = "1.3.6.1.4.1.55555.7135"
_ATTRIBUTES = ["supannEtuId", "supannEmpId", "supannCodeINE", "supannRefId"]
TEST_SCHEMA = (
    "\n".join(
        f"attributetype ( {_ARC}.1.{n} NAME '{name}' EQUALITY caseIgnoreMatch "
        "SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"
        for n, name in enumerate(_ATTRIBUTES, start=1)
    )
    + f"\nattributetype ( {_ARC}.1.9 NAME 'eduPersonPrincipalName' EQUALITY caseIgnoreMatch "
    "SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )\n"
    f"objectclass ( {_ARC}.2.1 NAME 'supannPersonTest' AUXILIARY MAY ( "
    + " $ ".join([*_ATTRIBUTES, "eduPersonPrincipalName"])
    + " ) )\n"
)
_CONFIG = """include {schemas}/core.schema
include {schemas}/cosine.schema
include {schemas}/inetorgperson.schema
include {root}/supann-test.schema
pidfile {root}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 104857600
suffix "{base}"
rootdn "{admin}"
rootpw {password}
directory {root}/db
index uid eq
"""
_BASE = f"""dn: {BASE_DN}
objectClass: dcObject
objectClass: organization
o: Université de test
dc: univ

dn: {PEOPLE_DN}
objectClass: organizationalUnit
ou: people
"""


@dataclass(frozen=True)
class Slapd:
    url: str
    base_dn: str = BASE_DN
    people_dn: str = PEOPLE_DN
    admin_dn: str = ADMIN_DN
    password: str = ADMIN_PASSWORD


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):  # bounded: about 10 s
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("slapd did not start listening")


def _prepare(root: Path) -> Path:
    (root / "db").mkdir()
    (root / "supann-test.schema").write_text(TEST_SCHEMA)
    config = root / "slapd.conf"
    config.write_text(
        _CONFIG.format(
            schemas=SCHEMA_DIR, root=root, base=BASE_DN, admin=ADMIN_DN, password=ADMIN_PASSWORD
        )
    )
    (root / "base.ldif").write_text(_BASE)
    subprocess.run(
        ["/usr/sbin/slapadd", "-f", str(config), "-l", str(root / "base.ldif")],
        check=True,
        capture_output=True,
    )
    return config


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[Slapd]:
    """An empty directory (base and ``ou=people``) served on a free loopback port."""
    if shutil.which(SLAPD) is None:
        pytest.fail("slapd is not installed: run .ci/install-packages (packages.d/ldap.txt)")
    root = tmp_path / "slapd"
    root.mkdir()
    config = _prepare(root)
    port = free_port()
    url = f"ldap://127.0.0.1:{port}/"
    process = subprocess.Popen(
        [SLAPD, "-d", "0", "-f", str(config), "-h", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, process)
        yield Slapd(url=f"ldap://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
