from fastapi import APIRouter

from fusion.app import create_service_app
from fusion.errors import NotFound
from fusion.settings import FusionSettings
from fusion.testing.clients import asgi_client
from services.identity.app import create_app as create_identity
from services.identity.settings import Settings as IdentitySettings


class ThingNotFound(NotFound):
    code = "thing_not_found"


def _demo_app() -> object:
    router = APIRouter()

    @router.get("/demo/v1/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        raise ThingNotFound(f"No thing {thing_id}.", message_fr=f"Aucun objet {thing_id}.")

    return create_service_app(
        name="demo", prefix="/demo", settings=FusionSettings(environment="test"), routers=[router]
    )


async def test_service_errors_share_one_envelope() -> None:
    async with asgi_client(_demo_app()) as client:
        response = await client.get("/demo/v1/things/7")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "thing_not_found",
            "message": "No thing 7.",
            "message_fr": "Aucun objet 7.",
        }
    }


async def test_validation_errors_are_422_in_the_same_envelope() -> None:
    async with asgi_client(_demo_app()) as client:
        response = await client.get("/demo/v1/things/not-a-number")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_metrics_use_the_route_template_not_the_raw_path() -> None:
    async with asgi_client(_demo_app()) as client:
        await client.get("/demo/v1/things/123456")
        metrics = (await client.get("/demo/metrics")).text
    assert 'route="/demo/v1/things/{thing_id}"' in metrics
    assert "123456" not in metrics


async def test_correlation_id_is_echoed_or_created() -> None:
    async with asgi_client(_demo_app()) as client:
        given = await client.get("/demo/healthz", headers={"X-Correlation-ID": "abc-123"})
        created = await client.get("/demo/healthz")
    assert given.headers["x-correlation-id"] == "abc-123"
    assert len(created.headers["x-correlation-id"]) == 32


async def test_readyz_checks_the_database(database_url: str) -> None:
    settings = IdentitySettings(
        environment="test", database_url=database_url, database_create_tables=True
    )
    async with asgi_client(create_identity(settings)) as client:
        response = await client.get("/identity/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    settings = IdentitySettings(
        environment="test", database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none"
    )
    async with asgi_client(create_identity(settings)) as client:
        response = await client.get("/identity/readyz")
        health = await client.get("/identity/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert health.status_code == 200


async def test_api_docs_are_served_without_a_cdn() -> None:
    async with asgi_client(_demo_app()) as client:
        page = await client.get("/demo/docs")
        script = await client.get("/demo/docs-assets/swagger-ui-bundle.js")
    assert page.status_code == 200
    assert "/demo/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text[:2000]
