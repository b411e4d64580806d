import pytest

from ringfence.agents import DirectRunner, GatewayRunner
from ringfence.agents.support_desk import SupportDeskSetup, SupportDeskWorld, load_shipped_policy
from ringfence.gateway import Gateway
from ringfence.store import SqliteStore


@pytest.fixture(scope="session")
def shipped_policy():
    return load_shipped_policy()


@pytest.fixture
def desk(shipped_policy):
    """Build (world, runner) for the support desk, with or without the shipped policy."""
    made = []

    def build(setup=None, *, policy=True, customer="cust-17"):
        world = SupportDeskWorld(customer, SupportDeskSetup.model_validate(setup or {}))
        if not policy:
            return world, DirectRunner(world.tools())
        store = SqliteStore(":memory:")
        gateway = Gateway(shipped_policy, store=store, resolver=world)
        for tool in world.tools():
            gateway.add_tool(tool)
        made.append(gateway)
        return world, GatewayRunner(gateway.session(world.principal, "s"))

    yield build
    for gateway in made:
        gateway.close()
