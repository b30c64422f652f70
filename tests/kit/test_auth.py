import logging
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends

from fusion.app import create_service_app
from fusion.auth import Principal, TokenRegistry, hash_token, require_role
from fusion.settings import ClientToken, FusionSettings
from fusion.testing.clients import asgi_client

PLUGIN_TOKEN = "s3cret-plugin-token-for-ub1"


def _app(settings: FusionSettings) -> object:
    router = APIRouter()

    @router.get("/demo/v1/admin-only")
    async def admin_only(
        principal: Annotated[Principal, Depends(require_role("admin"))],
    ) -> dict[str, str]:
        return {"client": principal.client}

    @router.get("/demo/v1/plugin")
    async def plugin(
        principal: Annotated[Principal, Depends(require_role("plugin", "admin"))],
    ) -> dict[str, str | None]:
        return {"client": principal.client, "acting_user": principal.acting_user}

    return create_service_app(name="demo", prefix="/demo", settings=settings, routers=[router])


def _settings(**overrides: object) -> FusionSettings:
    tokens = [ClientToken(client="ub1-plugin", role="plugin", sha256=hash_token(PLUGIN_TOKEN))]
    return FusionSettings(environment="test", tokens=tokens, **overrides)  # type: ignore[arg-type]


async def test_no_token_is_401_with_the_error_envelope() -> None:
    async with asgi_client(_app(_settings())) as client:
        response = await client.get("/demo/v1/admin-only")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


async def test_unknown_token_is_401() -> None:
    async with asgi_client(_app(_settings())) as client:
        response = await client.get("/demo/v1/admin-only", headers={"Authorization": "Bearer x"})
    assert response.status_code == 401


async def test_token_without_the_role_is_403() -> None:
    async with asgi_client(_app(_settings())) as client:
        response = await client.get(
            "/demo/v1/admin-only", headers={"Authorization": f"Bearer {PLUGIN_TOKEN}"}
        )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_plugin_acts_for_the_user_it_names() -> None:
    headers = {"Authorization": f"Bearer {PLUGIN_TOKEN}", "X-Fusion-Acting-User": "jdupont"}
    async with asgi_client(_app(_settings())) as client:
        response = await client.get("/demo/v1/plugin", headers=headers)
    assert response.json() == {"client": "ub1-plugin", "acting_user": "jdupont"}


async def test_demo_tokens_work_only_when_enabled() -> None:
    headers = {"Authorization": "Bearer demo-admin"}
    async with asgi_client(_app(_settings())) as client:
        assert (await client.get("/demo/v1/admin-only", headers=headers)).status_code == 401
    async with asgi_client(_app(_settings(demo_tokens=True))) as client:
        assert (await client.get("/demo/v1/admin-only", headers=headers)).status_code == 200


def test_demo_tokens_are_refused_in_production() -> None:
    with pytest.raises(ValueError, match="demo tokens"):
        FusionSettings(environment="production", demo_tokens=True)


def test_tokens_are_kept_only_as_digests() -> None:
    settings = _settings()
    dumped = settings.model_dump_json()
    assert PLUGIN_TOKEN not in dumped
    registry = TokenRegistry(settings.tokens)
    assert registry.authenticate(PLUGIN_TOKEN) is not None
    assert registry.authenticate(PLUGIN_TOKEN + "x") is None


async def test_tokens_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {"Authorization": f"Bearer {PLUGIN_TOKEN}"}
    async with asgi_client(_app(_settings())) as client:
        await client.get("/demo/v1/admin-only", headers=headers)
        await client.get("/demo/v1/plugin", headers=headers)
    assert PLUGIN_TOKEN not in caplog.text


def test_sso_user_header_is_believed_only_from_a_trusted_proxy() -> None:
    from starlette.requests import Request

    from fusion.auth import AuthConfig, sso_user

    config = AuthConfig.from_settings(_settings(trusted_proxies=["10.0.0.0/8"]))

    def request_from(host: str) -> Request:
        scope = {
            "type": "http",
            "headers": [(b"x-remote-user", b"jdupont")],
            "client": (host, 5000),
            "state": {"auth": config},
        }
        return Request(scope)

    assert sso_user(request_from("10.1.2.3")) == "jdupont"
    assert sso_user(request_from("192.0.2.7")) is None
    assert sso_user(request_from("not-an-address")) is None
