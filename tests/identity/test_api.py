"""The API's rules: who sees what, refusals in French and English, incremental reloads, events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlmodel import col

from fusion.db import Database
from fusion.testing.clients import DEMO_HEADERS
from fusion.testing.ldap import Slapd
from services.identity.models import Account, import_history
from sim.moodle.state import SimMoodle

from .conftest import ADMIN, Identity, moves, published_types, running_identity
from .test_ldap_loading import ENTRIES, _fill

TEACHER = {**DEMO_HEADERS["plugin"], "X-Fusion-Acting-User": "teacher1"}
SERVICE = DEMO_HEADERS["service"]
CSV_HEADER = "id,username,email,firstname,lastname,idnumber,auth\n"


async def _count(identity: Identity, table: Any) -> int:
    database = Database(identity.settings.database_url.get_secret_value())
    try:
        async with database.session() as session:
            return int(await session.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        await database.dispose()


@pytest.mark.parametrize(
    "url", ["/identity/v1/persons", "/identity/v1/persons/1", "/identity/v1/conflicts"]
)
@pytest.mark.parametrize("headers", [TEACHER, SERVICE], ids=["teacher", "service"])
async def test_only_administrators_see_persons_and_conflicts(
    identity: Identity, url: str, headers: dict[str, str]
) -> None:
    answer = await identity.http.get(url, headers=headers)
    assert answer.status_code == 403
    assert answer.json()["error"]["message_fr"]


async def test_a_teacher_cannot_run_a_restore_check_but_the_orchestrator_can(
    identity: Identity,
) -> None:
    body = {"platform": "target", "users": []}
    denied = await identity.http.post("/identity/v1/restore-check", json=body, headers=TEACHER)
    assert denied.status_code == 403
    allowed = await identity.http.post("/identity/v1/restore-check", json=body, headers=SERVICE)
    assert allowed.status_code == 200
    assert allowed.json() == {
        "platform": "target",
        "clean": True,
        "counts": {"maps": 0, "creates": 0, "conflicts": 0},
        "users": [],
    }


async def test_an_unknown_platform_is_a_404_envelope(identity: Identity) -> None:
    answer = await identity.http.post(
        "/identity/v1/restore-check", json={"platform": "nowhere", "users": []}, headers=SERVICE
    )
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "platform_unknown"
    assert "nowhere" in error["message_fr"]


async def test_a_bad_csv_line_rejects_the_whole_file_with_its_number(identity: Identity) -> None:
    data = CSV_HEADER + "5,alice,a@x.fr,Alice,A,,cas\n6,bob,b@x.fr,Bob\n"
    answer = await identity.http.post(
        "/identity/v1/file-imports",
        params={"source": "moodle_csv", "platform": "ub1"},
        content=data.encode(),
        headers={**ADMIN, "content-type": "text/csv"},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["details"] == {"line": 3}
    assert error["message_fr"].startswith("Ligne 3")
    assert "alice" not in answer.text
    assert "a@x.fr" not in answer.text
    assert await _count(identity, Account) == 0


async def test_reloading_an_unchanged_platform_changes_nothing(identity: Identity) -> None:
    ub1 = identity.sim["ub1"]
    for n in range(120):  # more than two pages of 50
        ub1.add_user(f"user{n}", "Zoé", "Lætitia", f"zoe{n}@u-bordeaux.fr", idnumber=f"{n}")
    first = await identity.load_platform("ub1")
    assert (first["created"], first["unchanged"], first["pages"]) == (121, 0, 3)
    ub1.users[ub1.user_by_username["user7"]].email = "zoe.new@u-bordeaux.fr"
    second = await identity.load_platform("ub1")
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 1, 120)
    finished = [t for t in await published_types(identity) if t == "identity.import_finished"]
    assert len(finished) == 2
    for job in (first, second):
        assert await moves(identity, import_history, job["id"]) == ["queued", "running", "done"]


async def test_the_directory_loads_over_ldap_as_a_background_job(
    sim: SimMoodle, slapd: Slapd, tmp_path: Path
) -> None:
    _fill(slapd)
    url = f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"
    directory: dict[str, Any] = {
        "ldap_url": slapd.url,
        "ldap_bind_dn": slapd.admin_dn,
        "ldap_password": SecretStr(slapd.password),
        "ldap_base_dn": slapd.people_dn,
        "ldap_page_size": 20,
    }
    async with running_identity(sim, url, **directory) as identity:
        started = await identity.http.post(
            "/identity/v1/imports", json={"source": "ldap"}, headers=ADMIN
        )
        assert started.status_code == 202, started.text
        done = await identity.wait_import(started.json())
        assert (done["state"], done["created"], done["pages"]) == ("done", ENTRIES, 4)
        found = await identity.http.get(
            "/identity/v1/persons", params={"q": "lœuillet"}, headers=ADMIN
        )
        assert found.json()["total"] == ENTRIES


async def test_an_administrators_link_survives_reloads_and_clears_the_conflict(
    identity: Identity,
) -> None:
    from .test_plans import DIRECTORY

    await identity.load_file(DIRECTORY.encode(), source="ldif")
    identity.sim["ub1"].add_user("hl-guest", "H.", "L.", "perso@example.org", id=50)
    await identity.load_platform("ub1")
    unknown = await identity.http.get(
        "/identity/v1/conflicts", params={"kind": "no_person", "platform": "ub1"}, headers=ADMIN
    )
    refs = [c["accounts"][0] for c in unknown.json()["items"]]
    assert ["ub1", 50] in refs
    account_id = await _account_id(identity, "ub1", 50)
    decided = await identity.http.post(
        f"/identity/v1/accounts/{account_id}/link",
        json={"person_id": 1, "decision": "confirm"},
        headers=ADMIN,
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["method"]) == ("confirmed", "manual")
    await identity.load_platform("ub1")  # the linker runs again and keeps the decision
    person = (await identity.http.get("/identity/v1/persons/1", headers=ADMIN)).json()
    assert any(link["account"]["moodle_id"] == 50 for link in person["links"])
    again = await identity.http.get(
        "/identity/v1/conflicts", params={"kind": "no_person", "platform": "ub1"}, headers=ADMIN
    )
    assert ["ub1", 50] not in [c["accounts"][0] for c in again.json()["items"]]


async def _account_id(identity: Identity, platform: str, moodle_id: int) -> int:
    database = Database(identity.settings.database_url.get_secret_value())
    try:
        async with database.session() as session:
            found = await session.scalar(
                select(col(Account.id)).where(
                    col(Account.platform) == platform, col(Account.moodle_id) == moodle_id
                )
            )
            assert found is not None
            return int(found)
    finally:
        await database.dispose()
