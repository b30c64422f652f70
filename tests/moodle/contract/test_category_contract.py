"""Categories and deletions, as the orchestrator's restore areas use them (a category of its own
under the target category, found by idnumber, emptied, deleted with what it holds), against a
simulated 4.1, a simulated 4.5 and, when configured, a live site."""

from __future__ import annotations

from fusion.moodle import CategoryDeletion, CourseUpdate, NewCategory
from fusion.moodle.errors import MoodleDuplicate

from .target import ContractTarget

NOBODY = 2_000_000_000  # no site has that many courses or categories


async def _area(target: ContractTarget, label: str) -> int:
    row = NewCategory(
        f"{target.prefix}-{label}", parent=target.categoryid, idnumber=f"{target.prefix}-{label}"
    )
    created = await target.client.create_categories([row])
    assert created.failed == []
    assert created.returned[0]["name"] == row.name
    return int(created.returned[0]["id"])


async def _courses_in(target: ContractTarget, categoryid: int) -> set[int]:
    found = await target.client.get_courses_by_field("category", categoryid)
    return {int(c["id"]) for c in found}


async def test_a_category_is_found_by_idnumber_with_or_without_its_subcategories(
    target: ContractTarget,
) -> None:
    area = await _area(target, "area")
    client = target.client
    (found,) = await client.get_categories(
        {"idnumber": f"{target.prefix}-area"}, addsubcategories=False
    )
    assert (found["id"], found["parent"], found["idnumber"]) == (
        area,
        target.categoryid,
        f"{target.prefix}-area",
    )
    (parent,) = await client.get_categories({"id": target.categoryid}, addsubcategories=False)
    assert found["path"] == f"{parent['path']}/{area}"
    assert found["depth"] == parent["depth"] + 1
    with_children = await client.get_categories({"id": target.categoryid})
    assert {c["id"] for c in with_children} == {target.categoryid, area}
    assert await client.get_categories({"idnumber": f"{target.prefix}-none"}) == []


async def test_a_course_moves_out_of_its_area_and_the_area_goes_with_what_it_holds(
    target: ContractTarget,
) -> None:
    area = await _area(target, "restore")
    client = target.client
    restored = await target.course("restored", categoryid=area)
    orphan = await target.course("orphan", categoryid=area)
    assert await _courses_in(target, area) == {restored, orphan}
    moved = await client.update_courses([CourseUpdate(id=restored, categoryid=target.categoryid)])
    assert (moved.applied, moved.failed) == (
        [CourseUpdate(restored, categoryid=target.categoryid)],
        [],
    )
    assert await _courses_in(target, area) == {orphan}
    deleted = await client.delete_categories([CategoryDeletion(id=area, recursive=True)])
    assert deleted.failed == []
    assert await client.get_categories({"idnumber": f"{target.prefix}-restore"}) == []
    assert await client.get_courses_by_field("id", orphan) == []
    assert restored in await _courses_in(target, target.categoryid)


async def test_a_category_deleted_without_recursive_hands_its_courses_to_its_parent(
    target: ContractTarget,
) -> None:
    area = await _area(target, "moved")
    courseid = await target.course("kept", categoryid=area)
    deleted = await target.client.delete_categories([CategoryDeletion(id=area)])
    assert deleted.failed == []
    assert await target.client.get_categories({"id": area}) == []
    assert courseid in await _courses_in(target, target.categoryid)


async def test_course_deletion_answers_a_warning_for_a_course_it_cannot_delete(
    target: ContractTarget,
) -> None:
    courseid = await target.course("deleted")
    result = await target.client.delete_courses([courseid, NOBODY])
    assert result.deleted == [courseid]
    assert list(result.refused) == [NOBODY]
    assert result.refused[NOBODY].errorcode == "unknowncourseidnumber"
    assert await target.client.get_courses_by_field("id", courseid) == []


async def test_a_category_under_a_missing_parent_is_refused(target: ContractTarget) -> None:
    created = await target.client.create_categories(
        [NewCategory(f"{target.prefix}-lost", parent=NOBODY)]
    )
    assert created.applied == []
    assert [error.errorcode for _, error in created.failed] == ["unknowcategory"]


async def test_a_second_category_with_a_taken_idnumber_is_refused_as_a_duplicate(
    target: ContractTarget,
) -> None:
    """What a restore start relies on: it creates its area first, and an earlier attempt's
    area (same idnumber) is refused with ``categoryidnumbertaken``, then found and emptied."""
    first = await _area(target, "again")
    again = NewCategory(
        f"{target.prefix}-again-2", parent=target.categoryid, idnumber=f"{target.prefix}-again"
    )
    created = await target.client.create_categories([again])
    assert (created.applied, created.returned) == ([], [])
    [(_, error)] = created.failed
    assert error.errorcode == "categoryidnumbertaken"
    assert isinstance(error, MoodleDuplicate)
    found = await target.client.get_categories({"idnumber": f"{target.prefix}-again"})
    assert [c["id"] for c in found] == [first]
