"""The course-creation form: names and Apogée codes checked the way a teacher understands.

Every code is validated against apogee_api before anything is created; a wrong code comes back
with the reason (unknown, closed, not offered this year) and codes that look like it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fusion.apogee import ApogeeClient, CodeCheck, SearchHit
from fusion.web.i18n import N_

MAX_CODES = 20
MAX_FULLNAME = 254
MAX_SHORTNAME = 100
_SEPARATORS = re.compile(r"[\s,;]+")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass
class CourseSpaceForm:
    fullname: str = ""
    shortname: str = ""
    codes_text: str = ""

    @property
    def codes(self) -> list[str]:
        seen: dict[str, None] = {}
        for code in _SEPARATORS.split(self.codes_text.strip()):
            if code:
                seen.setdefault(code.upper(), None)
        return list(seen)


@dataclass
class CodeProblem:
    check: CodeCheck
    suggestions: list[SearchHit] = field(default_factory=list)


@dataclass
class FormReport:
    """Field errors are message ids (translated by the page); code problems keep the check."""

    field_errors: dict[str, str] = field(default_factory=dict)
    code_problems: list[CodeProblem] = field(default_factory=list)
    valid_codes: list[CodeCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.field_errors and not self.code_problems


def check_fields(form: CourseSpaceForm) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not form.fullname.strip():
        errors["fullname"] = N_("Give the course space a full name.")
    elif len(form.fullname) > MAX_FULLNAME:
        errors["fullname"] = N_("The full name is too long (254 characters at most).")
    if not form.shortname.strip():
        errors["shortname"] = N_("Give the course space a short name.")
    elif len(form.shortname) > MAX_SHORTNAME:
        errors["shortname"] = N_("The short name is too long (100 characters at most).")
    codes = form.codes
    if not codes:
        errors["codes"] = N_("Enter at least one Apogée code: it enrols your students.")
    elif len(codes) > MAX_CODES:
        errors["codes"] = N_("Twenty Apogée codes at most for one course space.")
    elif any(not _CODE.match(code) for code in codes):
        errors["codes"] = N_(
            "An Apogée code has only letters, digits, dots, dashes and underscores."
        )
    return errors


async def check_form(form: CourseSpaceForm, *, apogee: ApogeeClient) -> FormReport:
    report = FormReport(field_errors=check_fields(form))
    if "codes" in report.field_errors or not form.codes:
        return report
    for check in await apogee.validate(form.codes):
        if check.status == "valid":
            report.valid_codes.append(check)
        else:
            report.code_problems.append(
                CodeProblem(check=check, suggestions=await suggestions(check, apogee=apogee))
            )
    return report


async def suggestions(check: CodeCheck, *, apogee: ApogeeClient, limit: int = 5) -> list[SearchHit]:
    """Open codes that look like a wrong one: its label's, or codes sharing its beginning."""
    queries = [check.label] if check.label else []
    queries += [check.code[:n] for n in (len(check.code), len(check.code) - 1, 4) if n >= 3]
    for query in dict.fromkeys(q for q in queries if q):
        hits = list((await apogee.search(query, limit=limit + 1)).results)
        hits = [h for h in hits if h.code != check.code][:limit]
        if hits:
            return hits
    return []
