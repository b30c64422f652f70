"""Bearer tokens per client, roles, and the user a plugin or the SSO proxy acts for.

Tokens are stored as SHA-256 digests (they are random, so a fast hash is enough) and compared
with ``hmac.compare_digest``; a clear token never reaches the logs or the settings dump.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, request_response
from starlette.routing import BaseRoute
from starlette.types import Scope

from fusion.errors import Forbidden, Unauthorized
from fusion.settings import DEMO_TOKENS, ClientToken, FusionSettings, Role


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


RouteHandler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Principal:
    client: str
    role: Role
    acting_user: str | None = None


class TokenRegistry:
    def __init__(self, tokens: Iterable[ClientToken]) -> None:
        self._tokens = list(tokens)

    @classmethod
    def from_settings(cls, settings: FusionSettings) -> TokenRegistry:
        tokens = list(settings.tokens)
        if settings.demo_tokens:
            tokens += [
                ClientToken(client=token, role=role, sha256=hash_token(token))
                for token, role in DEMO_TOKENS.items()
            ]
        return cls(tokens)

    def authenticate(self, token: str) -> ClientToken | None:
        digest = hash_token(token)
        found = None
        for candidate in self._tokens:  # no early exit: the time does not depend on the match
            if hmac.compare_digest(candidate.sha256, digest):
                found = candidate
        return found


@dataclass(frozen=True)
class AuthConfig:
    registry: TokenRegistry
    acting_user_header: str
    sso_user_header: str
    trusted_proxies: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: FusionSettings) -> AuthConfig:
        return cls(
            registry=TokenRegistry.from_settings(settings),
            acting_user_header=settings.acting_user_header,
            sso_user_header=settings.sso_user_header,
            trusted_proxies=tuple(settings.trusted_proxies),
        )

    def is_trusted_proxy(self, host: str | None) -> bool:
        if host is None:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(
            address in ipaddress.ip_network(net, strict=False) for net in self.trusted_proxies
        )


def _config(request: Request) -> AuthConfig:
    config = request.scope.get("state", {}).get("auth")
    if not isinstance(config, AuthConfig):
        raise RuntimeError("the service's lifespan did not provide its AuthConfig")
    return config


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "A bearer token is required.", message_fr="Un jeton d'accès (bearer) est requis."
        )
    return token.strip()


# The principal of a request, once its token was checked: the route's role dependency and the
# check made before the body is read (``check_credentials_first``) hash the token only once.
_PRINCIPAL_KEY = "fusion.principal"


def authenticate(request: Request) -> Principal:
    known = request.scope.get(_PRINCIPAL_KEY)
    if isinstance(known, Principal):
        return known
    config = _config(request)
    client = config.registry.authenticate(_bearer(request))
    if client is None:
        raise Unauthorized("The token is not valid.", message_fr="Le jeton n'est pas valide.")
    acting = request.headers.get(config.acting_user_header) if client.role == "plugin" else None
    principal = Principal(client=client.client, role=client.role, acting_user=acting or None)
    request.scope[_PRINCIPAL_KEY] = principal
    return principal


def allowed_principal(scope: Scope, roles: Iterable[Role]) -> Principal | None:
    """The request's principal if its token is valid and its role one of ``roles``; None
    otherwise (never raises: for a fast path that falls back to the route, which answers the
    refusal itself)."""
    try:
        principal = authenticate(Request(scope))
    except (Unauthorized, RuntimeError):
        return None
    return principal if principal.role in roles else None


def _check_role(principal: Principal, roles: tuple[Role, ...]) -> None:
    if principal.role not in roles:
        raise Forbidden(
            f"The role '{principal.role}' may not do this.",
            message_fr=f"Le rôle « {principal.role} » ne permet pas cette action.",
        )


def require_role(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks that its role is allowed."""

    async def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        _check_role(principal, roles)
        return principal

    dependency.fusion_roles = roles  # type: ignore[attr-defined]  # found by check_credentials_first
    return dependency


def _required_roles(dependant: Dependant) -> list[tuple[Role, ...]]:
    found = [getattr(dependant.call, "fusion_roles", None)]
    for sub in dependant.dependencies:
        found += _required_roles(sub)
    return [roles for roles in found if roles is not None]


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute of an app, inside included routers too (FastAPI includes them lazily)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


def wrap_route_handler(route: APIRoute, wrap: Callable[[RouteHandler], RouteHandler]) -> None:
    """Put `wrap` around the handler FastAPI builds for `route`, wherever it is included."""
    build = route.get_route_handler

    def get_route_handler() -> RouteHandler:
        return wrap(build())

    route.get_route_handler = get_route_handler  # type: ignore[method-assign,assignment]
    route.app = request_response(get_route_handler())


def _credentials_first(role_sets: list[tuple[Role, ...]]) -> Callable[[RouteHandler], RouteHandler]:
    def wrap(handler: RouteHandler) -> RouteHandler:
        async def checked(request: Request) -> Response:
            principal = authenticate(request)
            for roles in role_sets:
                _check_role(principal, roles)
            return await handler(request)

        return checked

    return wrap


def check_credentials_first(app: FastAPI) -> None:
    """FastAPI reads and decodes a request body before it runs any dependency, so a caller with
    no valid token learnt how its body was judged (422) and made the service read it whole.
    Every route that requires a role now checks the token and the role before that; the
    dependency still runs, and still hands the route its principal."""
    for route in api_routes(app.routes):
        if role_sets := _required_roles(route.dependant):
            wrap_route_handler(route, _credentials_first(role_sets))


def sso_user(request: Request) -> str | None:
    """The user named by the SSO reverse proxy, believed only from a configured address."""
    config = _config(request)
    client_host = request.client.host if request.client else None
    if not config.is_trusted_proxy(client_host):
        return None
    return request.headers.get(config.sso_user_header) or None
