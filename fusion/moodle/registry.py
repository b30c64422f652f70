"""Every configured Moodle platform, by name: one client each, over one shared HTTP client.

Services ask the registry for the platform they need (``registry.client("ub2")``, or
``registry["ub2"]``); the merged platform a service writes to is just one of them, configured
the same way as the historical ones. An unknown name is a 404 in the error envelope.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import httpx

from fusion.errors import NotFound
from fusion.moodle.client import MoodleClient
from fusion.moodle.platforms import moodle_client
from fusion.settings import MoodlePlatform

__all__ = ["MoodleRegistry", "PlatformUnknown"]


class PlatformUnknown(NotFound):
    code = "platform_unknown"


class MoodleRegistry(Mapping[str, MoodleClient]):
    def __init__(self, platforms: Sequence[MoodlePlatform], *, http: httpx.AsyncClient) -> None:
        self.platforms = {platform.name: platform for platform in platforms}
        self._clients = {p.name: moodle_client(p, http=http) for p in platforms}

    def client(self, name: str) -> MoodleClient:
        return self[name]

    def __getitem__(self, name: str) -> MoodleClient:
        client = self._clients.get(name)
        if client is None:
            raise PlatformUnknown(
                f"No platform '{name}' is configured.",
                message_fr=f"Aucune plateforme « {name} » n'est configurée.",
            )
        return client

    def __iter__(self) -> Iterator[str]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    def __contains__(self, name: object) -> bool:
        return name in self._clients
