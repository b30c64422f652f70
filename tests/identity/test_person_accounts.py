"""``GET /persons/by-uid/{uid}/accounts``: the orchestrator's teacher check maps a login to the
person's account on a platform, through accepted links only."""

from __future__ import annotations

from fusion.testing.clients import DEMO_HEADERS

from .conftest import Identity

SERVICE = DEMO_HEADERS["service"]
TEACHER = {**DEMO_HEADERS["plugin"], "X-Fusion-Acting-User": "hloeuillet"}
DIRECTORY = (
    "uid,mail,sn,givenName,supannEmpId\n"
    "hloeuillet,helene.loeuillet@u-bordeaux.fr,Lœuillet,Hélène,E0042\n"
    "jmartin,jean.martin@u-bordeaux.fr,Martin,Jean,E0043\n"
)


async def _loaded(identity: Identity) -> None:
    # On ub2 the teacher was given another username; the staff number still links them.
    identity.sim["ub1"].add_user("hloeuillet", "Hélène", "Lœuillet", "h@u.fr", idnumber="E0042")
    identity.sim["ub2"].add_user("hloeuillet2", "Helene", "Loeuillet", "h@u.fr", idnumber="E0042")
    identity.sim["ub2"].add_user("jmartin", "Jean", "Martin", "j@u.fr", idnumber="E0043")
    assert (await identity.load_file(DIRECTORY.encode(), source="directory_csv"))["state"] == "done"
    for platform in ("ub1", "ub2"):
        assert (await identity.load_platform(platform))["state"] == "done"


async def test_the_service_finds_the_persons_account_under_another_username(
    identity: Identity,
) -> None:
    await _loaded(identity)
    answer = await identity.http.get(
        "/identity/v1/persons/by-uid/hloeuillet/accounts",
        params={"platform": "ub2"},
        headers=SERVICE,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["uid"], body["platform"]) == ("hloeuillet", "ub2")
    ub2 = identity.sim["ub2"]
    assert [(a["moodle_id"], a["username"]) for a in body["accounts"]] == [
        (ub2.user_by_username["hloeuillet2"], "hloeuillet2")
    ]
    assert "h@u.fr" not in answer.text  # ids and usernames only
    none_there = await identity.http.get(
        "/identity/v1/persons/by-uid/jmartin/accounts",
        params={"platform": "ub1"},
        headers=SERVICE,
    )
    assert none_there.json()["accounts"] == []


async def test_unknown_persons_platforms_and_callers_are_refused(identity: Identity) -> None:
    await _loaded(identity)
    url = "/identity/v1/persons/by-uid/{}/accounts"
    unknown = await identity.http.get(
        url.format("nobody"), params={"platform": "ub1"}, headers=SERVICE
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "person_not_found"
    nowhere = await identity.http.get(
        url.format("hloeuillet"), params={"platform": "nowhere"}, headers=SERVICE
    )
    assert nowhere.status_code == 404
    assert nowhere.json()["error"]["code"] == "platform_unknown"
    teacher = await identity.http.get(
        url.format("hloeuillet"), params={"platform": "ub1"}, headers=TEACHER
    )
    assert teacher.status_code == 403
    bad = await identity.http.get(url.format("a b"), params={"platform": "ub1"}, headers=SERVICE)
    assert bad.status_code in (400, 422)
