"""Typed async client for one Moodle platform's WS REST endpoint."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from fusion.moodle.batching import BatchResult, apply_bisecting, plan_batches
from fusion.moodle.encoding import form_body, request_fields
from fusion.moodle.errors import MoodleError, MoodleRequestTooLarge, MoodleUnavailable
from fusion.moodle.releases import check_welcome_messages
from fusion.moodle.responses import as_dict, as_list, decode_response, warnings_by_item
from fusion.moodle.rows import (
    CategoryDeletion,
    CourseUpdate,
    GroupMember,
    JsonDict,
    ManualEnrolment,
    ManualUnenrolment,
    MetaLink,
    NewCategory,
    NewCourse,
    NewGroup,
    NewUser,
    UserCriterion,
    UserUpdate,
    _Row,
)

R = TypeVar("R", bound=_Row)

# Repeating these after a lost answer changes nothing: reads, and writes whose second
# application is a no-op in Moodle (re-enrolling updates, adding a member twice keeps one).
SAFE_TO_REPEAT = frozenset(
    {
        "core_webservice_get_site_info",
        "core_course_get_courses_by_field",
        "core_course_get_categories",
        "core_enrol_get_enrolled_users",
        "core_enrol_get_users_courses",
        "core_enrol_get_course_enrolment_methods",
        "core_group_get_course_groups",
        "core_user_get_users_by_field",
        "core_user_get_users",
        "enrol_manual_enrol_users",
        "enrol_manual_unenrol_users",
        "core_group_add_group_members",
        "core_group_delete_group_members",
    }
)
ENDPOINT = "/webservice/rest/server.php"
_FORM = {"content-type": "application/x-www-form-urlencoded"}


@dataclass
class CourseDeletions:
    """What ``core_course_delete_courses`` did: it deletes course by course and answers a
    warning, not an exception, for each one it could not (``unknowncourseidnumber``,
    ``cannotdeletecourse``, ``cannotdeletecategorycourse``)."""

    deleted: list[int] = field(default_factory=list)
    refused: dict[int, MoodleError] = field(default_factory=dict)


class MoodleClient:
    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        http: httpx.AsyncClient,
        max_input_vars: int = 5000,
        retries: int = 2,
        retry_backoff_seconds: float = 0.5,
        max_batch_rows: int | None = None,
        welcome_messages_off: bool = False,
    ) -> None:
        """``max_batch_rows`` caps rows per write call below what max_input_vars allows: each
        call is one transaction, and a smaller one loses less when it is rolled back.

        ``welcome_messages_off``: the platform's administrator turned Moodle 4.4+'s course
        welcome message off on every manual enrolment instance (README, "Moodle set-up"). No
        web service shows that setting, so on 4.4+ the client refuses to enrol until told."""
        self.url = base_url.rstrip("/") + ENDPOINT
        self._endpoint = httpx.URL(self.url)  # parsed once: httpx parses a str on every call
        self._token = token
        self._http = http
        self.max_input_vars = max_input_vars
        self._retries = retries
        self._backoff = retry_backoff_seconds
        self._max_batch_rows = max_batch_rows
        self._welcome_messages_off = welcome_messages_off
        self._enrolling_checked = False
        # Every call really sent (reads, writes, retries and bisection halves), by function.
        self.calls: Counter[str] = Counter()

    async def call(self, wsfunction: str, params: Mapping[str, Any] | None = None) -> Any:
        fields = request_fields(self._token, wsfunction, params or {})
        if len(fields) > self.max_input_vars:
            # PHP would silently drop the tail and Moodle could report success: never send it.
            raise MoodleRequestTooLarge(
                f"{wsfunction}: {len(fields)} fields exceed max_input_vars={self.max_input_vars}",
                message_fr=f"{wsfunction} : {len(fields)} champs dépassent max_input_vars.",
            )
        attempts = 1 + (self._retries if wsfunction in SAFE_TO_REPEAT else 0)
        for attempt in range(attempts):
            try:
                return await self._post(wsfunction, form_body(fields))
            except MoodleUnavailable:
                if attempt + 1 == attempts:
                    raise
                await asyncio.sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")

    async def _post(self, wsfunction: str, body: bytes) -> Any:
        self.calls[wsfunction] += 1
        try:
            response = await self._http.post(self._endpoint, content=body, headers=_FORM)
        except httpx.TransportError as error:
            raise MoodleUnavailable(
                f"{wsfunction}: Moodle unreachable ({type(error).__name__})",
                message_fr=f"{wsfunction} : Moodle injoignable ({type(error).__name__}).",
            ) from error
        return decode_response(wsfunction, response)

    # --- site, courses -------------------------------------------------------------------

    async def get_site_info(self) -> JsonDict:
        return as_dict(await self.call("core_webservice_get_site_info"))

    async def get_courses_by_field(self, field: str = "", value: str | int = "") -> list[JsonDict]:
        answer = as_dict(
            await self.call("core_course_get_courses_by_field", {"field": field, "value": value})
        )
        return list(answer.get("courses", []))

    async def create_courses(self, rows: Sequence[NewCourse]) -> BatchResult[NewCourse]:
        return await self._write("core_course_create_courses", "courses", rows)

    async def update_courses(self, rows: Sequence[CourseUpdate]) -> BatchResult[CourseUpdate]:
        return await self._write_with_warnings("core_course_update_courses", "courses", rows)

    async def delete_courses(self, courseids: Sequence[int]) -> CourseDeletions:
        result = CourseDeletions()
        chunks = plan_batches(
            list(courseids), fields_per_row=lambda _: 1, max_input_vars=self.max_input_vars
        )
        for chunk in chunks:
            answer = await self.call("core_course_delete_courses", {"courseids": list(chunk)})
            refused = warnings_by_item(answer, "core_course_delete_courses")
            result.deleted += [c for c in chunk if c not in refused]
            result.refused |= {c: refused[c] for c in chunk if c in refused}
        return result

    # --- categories -----------------------------------------------------------------------

    async def get_categories(
        self, criteria: Mapping[str, str | int] | None = None, *, addsubcategories: bool = True
    ) -> list[JsonDict]:
        """Categories matching every criterion (keys ``id``, ``ids``, ``name``, ``parent``,
        ``idnumber``, ``visible``, ``theme``; idnumber, visible and theme need
        ``moodle/category:manage`` or ``viewhiddencategories``, else ``criteriaerror``), with
        all their subcategories unless ``addsubcategories`` is false. Fields such as
        ``idnumber`` are answered only where the token may manage the category."""
        params = {
            "criteria": [{"key": key, "value": value} for key, value in (criteria or {}).items()],
            "addsubcategories": addsubcategories,
        }
        return as_list(await self.call("core_course_get_categories", params))

    async def create_categories(self, rows: Sequence[NewCategory]) -> BatchResult[NewCategory]:
        """All or nothing per call (Moodle's transaction): ``returned`` holds ``{id, name}``
        of each created category, in the rows' order."""
        return await self._write("core_course_create_categories", "categories", rows)

    async def delete_categories(
        self, rows: Sequence[CategoryDeletion]
    ) -> BatchResult[CategoryDeletion]:
        return await self._write("core_course_delete_categories", "categories", rows)

    # --- enrolments ------------------------------------------------------------------------

    async def get_enrolled_users(
        self,
        courseid: int,
        *,
        userfields: Sequence[str] = ("id",),
        onlyactive: bool = False,
        withcapability: str | None = None,
        groupid: int | None = None,
        limitfrom: int = 0,
        limitnumber: int = 0,
    ) -> list[JsonDict]:
        options: list[tuple[str, Any]] = [("userfields", ",".join(userfields))]
        options += [("onlyactive", onlyactive)] if onlyactive else []
        options += [("withcapability", withcapability)] if withcapability else []
        options += [("groupid", groupid)] if groupid is not None else []
        options += [("limitfrom", limitfrom), ("limitnumber", limitnumber)] if limitnumber else []
        params = {"courseid": courseid, "options": [{"name": n, "value": v} for n, v in options]}
        return as_list(await self.call("core_enrol_get_enrolled_users", params))

    async def get_users_courses(self, userid: int) -> list[JsonDict]:
        return as_list(await self.call("core_enrol_get_users_courses", {"userid": userid}))

    async def get_course_enrolment_methods(self, courseid: int) -> list[JsonDict]:
        answer = await self.call("core_enrol_get_course_enrolment_methods", {"courseid": courseid})
        return as_list(answer)

    async def enrol_users(self, rows: Sequence[ManualEnrolment]) -> BatchResult[ManualEnrolment]:
        if rows and not (self._welcome_messages_off or self._enrolling_checked):
            check_welcome_messages(await self.get_site_info(), off=False)
            self._enrolling_checked = True  # a 4.1-4.3 platform: no welcome message exists
        return await self._write("enrol_manual_enrol_users", "enrolments", rows)

    async def unenrol_users(
        self, rows: Sequence[ManualUnenrolment]
    ) -> BatchResult[ManualUnenrolment]:
        return await self._write("enrol_manual_unenrol_users", "enrolments", rows)

    async def meta_add_instances(self, rows: Sequence[MetaLink]) -> BatchResult[MetaLink]:
        # Moodle does not roll this one back (§13): rows before a bad one stay created, and a
        # resent row answers status=false. The returned statuses tell which links are new.
        return await self._write("enrol_meta_add_instances", "instances", rows)

    # --- groups ---------------------------------------------------------------------------

    async def create_groups(self, rows: Sequence[NewGroup]) -> BatchResult[NewGroup]:
        return await self._write("core_group_create_groups", "groups", rows)

    async def get_course_groups(self, courseid: int) -> list[JsonDict]:
        return as_list(await self.call("core_group_get_course_groups", {"courseid": courseid}))

    async def add_group_members(self, rows: Sequence[GroupMember]) -> BatchResult[GroupMember]:
        return await self._write("core_group_add_group_members", "members", rows)

    async def delete_group_members(self, rows: Sequence[GroupMember]) -> BatchResult[GroupMember]:
        return await self._write("core_group_delete_group_members", "members", rows)

    # --- users ----------------------------------------------------------------------------

    async def get_users_by_field(self, field: str, values: Sequence[str | int]) -> list[JsonDict]:
        found: list[JsonDict] = []
        chunks = plan_batches(
            list(values), fields_per_row=lambda _: 1, max_input_vars=self.max_input_vars - 1
        )
        for chunk in chunks:
            params = {"field": field, "values": list(chunk)}
            found.extend(as_list(await self.call("core_user_get_users_by_field", params)))
        return found

    async def get_users(self, criteria: Sequence[UserCriterion]) -> JsonDict:
        params = {"criteria": [c.as_param() for c in criteria]}
        return as_dict(await self.call("core_user_get_users", params))

    async def create_users(self, rows: Sequence[NewUser]) -> BatchResult[NewUser]:
        return await self._write("core_user_create_users", "users", rows)

    async def update_users(self, rows: Sequence[UserUpdate]) -> BatchResult[UserUpdate]:
        return await self._write_with_warnings("core_user_update_users", "users", rows)

    # --- batching -------------------------------------------------------------------------

    def _batches(self, rows: Sequence[R]) -> list[list[R]]:
        return plan_batches(
            rows,
            fields_per_row=lambda row: row.field_count(),
            max_input_vars=self.max_input_vars,
            max_rows=self._max_batch_rows,
        )

    async def _write(self, wsfunction: str, key: str, rows: Sequence[R]) -> BatchResult[R]:
        result: BatchResult[R] = BatchResult()

        async def send(batch: Sequence[R]) -> object:
            answer = await self.call(wsfunction, {key: [row.as_param() for row in batch]})
            if isinstance(answer, list):
                result.returned.extend(answer)
            return answer

        for batch in self._batches(rows):
            result.merge(await apply_bisecting(batch, send=send))
        return result

    async def _write_with_warnings(
        self, wsfunction: str, key: str, rows: Sequence[R]
    ) -> BatchResult[R]:
        """Functions that apply row by row and report bad rows as ``warnings[]``."""
        result: BatchResult[R] = BatchResult()
        for batch in self._batches(rows):
            answer = await self.call(wsfunction, {key: [row.as_param() for row in batch]})
            result.calls += 1
            refused = warnings_by_item(answer, wsfunction)
            for row in batch:
                error = refused.get(int(getattr(row, "id", -1)))
                if error is None:
                    result.applied.append(row)
                else:
                    result.failed.append((row, error))
        return result
