from typing import Any

pytest_plugins = ["fusion.testing.plugin", "fusion.testing.rabbit", "fusion.testing.standalone"]


# The longest files (minutes each on a 2-core machine), started first: with ``--dist loadfile``
# a long file left for last runs alone at the end while the other workers wait. The Makefile
# keeps the collection's order (``--no-loadscope-reorder``: xdist would put the files with
# the most tests first, and these have one or two); the rest follow in their usual order.
LONGEST_FIRST = (
    "tests/faults/test_migrations_broker_cut.py",
    "tests/migration_orchestrator/test_platform_concurrency.py",
    "tests/faults/test_sync_killed_mid_run.py",
    "tests/e2e/test_migrations_distributed.py",
    "tests/faults/test_migration_killed.py",
)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    missing = [path for path in LONGEST_FIRST if not (config.rootpath / path).is_file()]
    assert not missing, f"LONGEST_FIRST names files that are gone: {missing}"

    def rank(item: Any) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within each file, and of the others, is kept
