"""The Apogée client reads ``members:bulk`` as a stream and never mistakes a cut for a roster."""

from __future__ import annotations

import json

import httpx
import pytest

from fusion.apogee import ApogeeClient, ApogeeFailed, ApogeeRefused, ApogeeUnreachable

from .fake_apogee import FakeApogee, FakeCode


def client(handler: httpx.MockTransport, *, chunk_size: int = 2000) -> ApogeeClient:
    http = httpx.AsyncClient(transport=handler, base_url="http://apogee")
    return ApogeeClient(http=http, token="demo-service", chunk_size=chunk_size)


async def test_rosters_come_in_request_order_in_chunks_with_etags_sent() -> None:
    fake = FakeApogee(codes={f"C{i}": FakeCode(members={f"E{i}": ("N", "P")}) for i in range(5)})
    etag = fake.etag(fake.codes["C1"])
    codes = [f"C{i}" for i in range(5)] + ["NOPE"]
    rosters = [
        r
        async for r in client(fake.transport(), chunk_size=2).members_bulk(
            codes, year=2026, if_none_match={"C1": etag}
        )
    ]
    assert [(r.code, r.status) for r in rosters] == [
        ("C0", "ok"),
        ("C1", "not_modified"),
        ("C2", "ok"),
        ("C3", "ok"),
        ("C4", "ok"),
        ("NOPE", "unknown"),
    ]
    assert rosters[0].members == ("E0",)
    assert [len(body["codes"]) for body in fake.bulk_requests] == [2, 2, 2]  # type: ignore[arg-type]
    assert fake.bulk_requests[0]["if_none_match"] == {"C1": etag}
    assert fake.bulk_requests[0]["year"] == 2026


def answering(lines: list[dict[str, object]], status: int = 200) -> httpx.MockTransport:
    body = "\n".join(json.dumps(line) for line in lines)
    return httpx.MockTransport(lambda _: httpx.Response(status, content=body))


@pytest.mark.parametrize(
    "lines",
    [
        [{"code": "A", "status": "ok", "members": []}],  # B missing: the stream was cut
        [{"code": "B", "status": "ok"}, {"code": "A", "status": "ok"}],  # out of order
        [{"code": "A"}, {"code": "B", "status": "ok"}],  # not a roster
    ],
)
async def test_a_cut_or_garbled_stream_is_an_upstream_error(lines: list[dict[str, object]]) -> None:
    with pytest.raises(ApogeeFailed):
        [r async for r in client(answering(lines)).members_bulk(["A", "B"], year=None)]


async def test_apogee_down_is_unavailable_not_empty() -> None:
    with pytest.raises(ApogeeUnreachable):
        [r async for r in client(answering([], status=503)).members_bulk(["A"], year=None)]

    def refuse(_: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(ApogeeUnreachable):
        await client(httpx.MockTransport(refuse)).validate(["A"], year=None)


async def test_a_shared_http_client_reaches_apogee_under_its_base_url() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        hit = {"code": "AU000012", "kind": "elp", "label": "UE1 Analyse"}
        return httpx.Response(200, json={"query": "ana", "year": 2026, "results": [hit]})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    apogee = ApogeeClient(http=http, token="t", base_url="http://apogee.example/")
    found = await apogee.search("ana", limit=3)
    assert [(hit.code, hit.label, hit.period) for hit in found.results] == [
        ("AU000012", "UE1 Analyse", None)
    ]
    assert seen == ["http://apogee.example/apogee/v1/codes?q=ana&limit=3"]


async def test_a_refusal_carries_apogees_own_words_and_a_timeout_is_unreachable() -> None:
    refusal = {"error": {"code": "validation_error", "message": "No.", "message_fr": "Non."}}
    with pytest.raises(ApogeeRefused) as refused:
        await client(httpx.MockTransport(lambda _: httpx.Response(422, json=refusal))).search("")
    assert (refused.value.status_code, refused.value.message_fr) == (400, "Non.")

    def slow(_: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("late")

    with pytest.raises(ApogeeUnreachable) as late:
        await client(httpx.MockTransport(slow)).validate(["A"])
    assert "in time" in late.value.message


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, {"results": [{"code": "A"}]}), (200, "not json"), (401, {"error": "token"})],
)
async def test_an_answer_we_cannot_use_is_an_upstream_failure(status: int, body: object) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(status, json=body))
    with pytest.raises(ApogeeFailed) as failed:
        await client(transport).validate(["A"])
    assert failed.value.status_code == 502
