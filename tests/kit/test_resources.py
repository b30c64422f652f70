from uuid import uuid4

from pydantic import SecretStr

from fusion.bus import QueueSpec
from fusion.contracts import Envelope, RunSync
from fusion.resources import open_bus
from fusion.settings import BusFragment
from fusion.testing.rabbit import wait_until


async def test_services_of_one_process_share_the_named_memory_bus() -> None:
    settings = BusFragment(bus_url=SecretStr("memory://allinone-test"))
    received: list[Envelope] = []

    async def handler(envelope: Envelope) -> None:
        received.append(envelope)

    async with open_bus(settings) as consumer_side:
        await consumer_side.subscribe(QueueSpec("sync.runs", ("sync.run",)), handler)
        async with open_bus(settings) as publisher_side:
            assert publisher_side is consumer_side
            await publisher_side.publish(Envelope.of(RunSync(run_id=uuid4(), mode="full")))
        # The publisher's lifespan ended; the consumer's bus is still open.
        assert consumer_side.is_connected

        async def delivered() -> int | None:
            return len(received) or None

        await wait_until(delivered, seconds=5)
    assert not consumer_side.is_connected


async def test_an_unnamed_memory_bus_is_private() -> None:
    settings = BusFragment(bus_url=SecretStr("memory://"))
    async with open_bus(settings) as first, open_bus(settings) as second:
        assert first is not second
