"""The chaos harness's own plumbing, on what made full runs fail although the platform was right:
seed 201 (50,000 events) ended on an `httpx.ConnectTimeout` (a replica that did not accept the
connection within 2 s on the loaded machine), and a member-mismatch shortfall that was only
refunds still parked was counted as a mismatch because one of them had been published twice."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from loyalty_devkit.chaos.cluster import Cluster, Replica
from loyalty_devkit.chaos.dead_letters import judged_again, left_parked
from loyalty_devkit.chaos.http import Services


def _services(tmp_path: Path, handler: httpx.MockTransport) -> Services:
    cluster = Cluster(secret="s", workdir=tmp_path)
    cluster.replicas = [
        Replica("points", index, 9000 + index, tmp_path / f"points-{index}.log") for index in (0, 1)
    ]
    services = Services(cluster, admin_token="t", rng=random.Random(1))
    services._client = httpx.AsyncClient(transport=handler)  # the network, faked
    return services


@pytest.mark.parametrize("error", [httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError])
async def test_a_request_that_never_left_is_sent_again(
    tmp_path: Path, error: type[httpx.TransportError]
) -> None:
    attempts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(str(request.url))
        if len(attempts) < 3:
            raise error("not accepted in time", request=request)
        return httpx.Response(201, json={"id": "r-1"})

    services = _services(tmp_path, httpx.MockTransport(handler))
    try:
        answer = await services.call("points", "POST", "/v1/members/m-1/redemptions", json={})
    finally:
        await services.close()
    assert (answer.status, answer.body, answer.ambiguous_before) == (201, {"id": "r-1"}, False)
    assert len(attempts) == 3


def test_parked_refunds_published_twice_are_a_finding_not_a_mismatch() -> None:
    once, twice = b'{"id": "e-1"}', b'{"id": "e-2"}'
    # seed 201: 10 distinct refunds still parked in points, one of them published twice
    assert left_parked("member-mismatch", [once, twice, twice], [], parked=2)
    assert not left_parked("member-mismatch", [once, twice, twice], [], parked=1)
    assert not left_parked("member-mismatch", [once], [twice], parked=1)
    assert not left_parked("duplicate-refund", [once], [], parked=1)


def test_a_refused_parked_refund_read_again_is_a_finding_not_a_mismatch() -> None:
    record, other = b'{"id": "e-1"}', b'{"id": "e-2"}'
    # seed 201 (final run): points dead-lettered three refunds once from the park and once more
    # when their records were read again: 186 positions for 184 copies, none missing
    assert judged_again("member-mismatch", [], [], over=[record])
    assert not judged_again("member-mismatch", [other], [], over=[record])
    assert not judged_again("member-mismatch", [], [other], over=[record])
    assert not judged_again("invalid-json", [], [], over=[record])
    # a surplus is no longer taken for refunds left parked
    assert not left_parked("member-mismatch", [], [], parked=0)
