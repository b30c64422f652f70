"""The reference directory over LDAP (SupAnn attributes), read with a paged search (RFC 2696).

ldap3 is synchronous: each page is fetched in a worker thread, so a long directory read never
blocks the service's event loop; the connection is opened and closed by the same read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException

from fusion.errors import UpstreamUnavailable
from services.identity.files import entry_from_attributes
from services.identity.records import DirectoryEntry

PAGED_RESULTS = "1.2.840.113556.1.4.319"
SUPANN_ATTRIBUTES = [
    "uid",
    "mail",
    "sn",
    "givenName",
    "supannEtuId",
    "supannEmpId",
    "supannCodeINE",
    "supannRefId",
    "eduPersonPrincipalName",
]


@dataclass(frozen=True)
class DirectoryServer:
    url: str
    bind_dn: str
    password: str
    base_dn: str
    search_filter: str = "(uid=*)"
    page_size: int = 500
    timeout_seconds: float = 10.0


class DirectoryUnavailable(UpstreamUnavailable):
    code = "directory_unavailable"


def _connect(server: DirectoryServer) -> ldap3.Connection:
    target = ldap3.Server(server.url, connect_timeout=server.timeout_seconds)
    return ldap3.Connection(
        target,
        user=server.bind_dn or None,
        password=server.password or None,
        auto_bind=True,
        receive_timeout=int(server.timeout_seconds),  # ldap3 packs it as an integer
        read_only=True,
    )


def _page(
    connection: ldap3.Connection, server: DirectoryServer, cookie: bytes | None
) -> tuple[list[DirectoryEntry], bytes | None]:
    connection.search(
        server.base_dn,
        server.search_filter,
        search_scope=ldap3.SUBTREE,
        attributes=SUPANN_ATTRIBUTES,
        paged_size=server.page_size,
        paged_cookie=cookie,
    )
    entries = [
        _entry(item) for item in connection.response or [] if item.get("type") == "searchResEntry"
    ]
    control: dict[str, Any] = connection.result.get("controls", {}).get(PAGED_RESULTS, {})
    next_cookie = control.get("value", {}).get("cookie") or None
    return entries, next_cookie


def _entry(item: dict[str, Any]) -> DirectoryEntry:
    attributes = {
        name: [str(v) for v in (values if isinstance(values, list) else [values])]
        for name, values in item.get("attributes", {}).items()
    }
    return entry_from_attributes(attributes, 0)


async def directory_pages(server: DirectoryServer) -> AsyncIterator[list[DirectoryEntry]]:
    try:
        connection = await asyncio.to_thread(_connect, server)
    except LDAPException as error:
        raise DirectoryUnavailable(
            f"The directory does not answer ({type(error).__name__}).",
            message_fr=f"L'annuaire ne répond pas ({type(error).__name__}).",
        ) from error
    try:
        cookie: bytes | None = None
        while True:
            entries, cookie = await asyncio.to_thread(_page, connection, server, cookie)
            yield [e for e in entries if e.uid]
            if not cookie:
                return
    except LDAPException as error:
        raise DirectoryUnavailable(
            f"The directory search failed ({type(error).__name__}).",
            message_fr=f"La recherche dans l'annuaire a échoué ({type(error).__name__}).",
        ) from error
    finally:
        await asyncio.to_thread(connection.unbind)
