from __future__ import annotations

import ldap3

from fusion.testing.ldap import Slapd
from services.identity.ldap_source import DirectoryServer, directory_pages

ENTRIES = 75  # more than three pages of 20


def _fill(slapd: Slapd) -> None:
    connection = ldap3.Connection(
        ldap3.Server(slapd.url), user=slapd.admin_dn, password=slapd.password, auto_bind=True
    )
    for n in range(ENTRIES):
        student = n % 3 != 0
        attributes: dict[str, object] = {
            "uid": f"user{n}",
            "cn": f"Hélène Lœuillet-Müller {n}",
            "sn": "Lœuillet-Müller",
            "givenName": "Hélène",
            "mail": f"helene.loeuillet{n}@univ.test",
            "eduPersonPrincipalName": f"user{n}@univ.test",
            "supannRefId": ["{EPPN}" + f"user{n}@univ.test", f"{{SIHAM:FCT}}S{n:05d}"],
        }
        if student:
            attributes |= {"supannEtuId": f"2100{n:04d}", "supannCodeINE": f"{n:010d}A"}
        else:
            attributes |= {"supannEmpId": f"E{n:05d}"}
        assert connection.add(
            f"uid=user{n},{slapd.people_dn}",
            ["inetOrgPerson", "supannPersonTest"],
            attributes,
        ), connection.result
    connection.unbind()


def _server(slapd: Slapd, **overrides: object) -> DirectoryServer:
    settings: dict[str, object] = {
        "url": slapd.url,
        "bind_dn": slapd.admin_dn,
        "password": slapd.password,
        "base_dn": slapd.people_dn,
        "page_size": 20,
    }
    return DirectoryServer(**(settings | overrides))  # type: ignore[arg-type]


async def test_a_paged_search_reads_every_entry_in_pages_with_supann_attributes(
    slapd: Slapd,
) -> None:
    _fill(slapd)
    pages = [page async for page in directory_pages(_server(slapd))]
    entries = [entry for page in pages for entry in page]
    assert [len(p) for p in pages] == [20, 20, 20, 15]
    assert len({e.uid for e in entries}) == ENTRIES
    one = next(e for e in entries if e.uid == "user1")
    assert (one.sn, one.given_name, one.etu_id, one.ine) == (
        "Lœuillet-Müller",
        "Hélène",
        "21000001",
        "0000000001A",
    )
    assert one.eppn == "user1@univ.test"
    assert set(one.labelled_ids()) == {("EPPN", "user1@univ.test"), ("SIHAM:FCT", "S00001")}
    staff = next(e for e in entries if e.uid == "user3")
    assert (staff.emp_id, staff.etu_id) == ("E00003", "")
