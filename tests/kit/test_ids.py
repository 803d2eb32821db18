"""Ids: random by default, the same sequence from the same seed inside `using`."""

from __future__ import annotations

import asyncio

from estore.kit.ids import SeededIds, new_id, new_object_id, new_uuid, using


def _draw() -> list[str]:
    return [new_id(), new_uuid(), str(new_object_id()), new_id()]


def test_the_same_seed_mints_the_same_ids_in_the_same_order() -> None:
    with using(SeededIds(7)):
        first = _draw()
    with using(SeededIds(7)):
        second = _draw()
    with using(SeededIds(8)):
        other = _draw()

    assert first == second
    assert first != other


def test_ids_are_random_outside_a_seeded_context() -> None:
    with using(SeededIds(7)):
        seeded = new_id()

    assert new_id() != new_id()
    assert new_id() != seeded


def test_seeded_object_ids_keep_growing() -> None:
    with using(SeededIds(1)):
        ids = [new_object_id() for _ in range(50)]

    assert ids == sorted(ids)


async def test_tasks_inherit_the_seeded_source_of_their_creator() -> None:
    async def mint() -> str:
        return new_id()

    with using(SeededIds(3)):
        in_task = await asyncio.create_task(mint())
    with using(SeededIds(3)):
        inline = new_id()

    assert in_task == inline
