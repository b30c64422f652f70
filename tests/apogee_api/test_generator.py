from __future__ import annotations

import pytest

from fusion.testing.clients import asgi_client
from services.apogee_api.app import create_app
from sim.apogee.generator import generate, generate_dataset
from sim.apogee.scales import SCALES

from .conftest import AUTH, settings_for

V1 = "/apogee/v1"


def test_generation_is_deterministic() -> None:
    first = generate_dataset(scale=SCALES["demo"], seed=7)
    second = generate_dataset(scale=SCALES["demo"], seed=7)
    assert first.tables["ind_contrat_elp"].rows == second.tables["ind_contrat_elp"].rows
    assert first.counts() != generate_dataset(scale=SCALES["demo"], seed=8).counts()


@pytest.mark.slow
async def test_demo_scale_loads_and_answers(database_url: str) -> None:
    counts = await generate(database_url, scale="demo")
    assert counts["individu"] >= 3_000
    async with asgi_client(create_app(settings_for(database_url))) as api:
        api.headers.update(AUTH)
        hits = (await api.get(f"{V1}/codes", params={"q": "licence", "kind": "vet"})).json()
        code = hits["results"][0]["code"]
        members = (await api.get(f"{V1}/codes/{code}/members")).json()["members"]
        described = (await api.get(f"{V1}/codes/{code}")).json()
        bulk = await api.post(f"{V1}/members:bulk", json={"codes": [code]})
    assert len(members) == described["member_count"] > 0
    assert bulk.status_code == 200
    assert bulk.text.count("\n") == 1


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("bogus://x", "use one of"),
        ("not a url", "not a database URL"),
        ("postgresql+asyncpg://postgres@127.0.0.1:1/none", "cannot load the database"),
    ],
)
def test_generate_command_refuses_a_bad_database_clearly(
    url: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.apogee.cli import main

    assert main(["generate", "--scale", "demo", "--database", url]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err
