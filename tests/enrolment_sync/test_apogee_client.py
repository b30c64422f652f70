"""The Apogée client reads ``members:bulk`` as a stream and never mistakes a cut for a roster."""

from __future__ import annotations

import json

import httpx
import pytest

from fusion.apogee import ApogeeClient, ApogeeFailed, ApogeeUnreachable

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
