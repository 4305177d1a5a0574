"""The migration list: unique numbers, applied by number."""

from __future__ import annotations

from adapters.postgres.migrations import MIGRATIONS


def test_migration_numbers_are_unique_and_positive() -> None:
    versions = [version for version, _, _ in MIGRATIONS]
    assert len(versions) == len(set(versions))
    assert all(version > 0 for version in versions)
    assert all(description.strip() for _, description, _ in MIGRATIONS)
