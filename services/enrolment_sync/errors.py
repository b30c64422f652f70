"""Every error enrolment_sync answers with, on the kit's tree (``fusion.errors``).

    FusionError
     ├── BadRequest (400)
     │    ├── CodeRejected            apogee_code_rejected: Apogée does not offer the code
     │    └── SelfMetaLink            meta_link_to_itself: a course cannot feed itself
     ├── Forbidden (403)
     │    ├── NotCourseTeacher        not_course_teacher: the acting user does not teach it
     │    ├── OperatorDecision        operator_decision: a plugin asked what only operators may
     │    └── NotCreatedEmpty         course_not_created_empty: a plugin's "created empty" claim
     │                                for a course that holds others' enrolments
     ├── NotFound (404)
     │    ├── MethodNotFound          method_not_found
     │    ├── MetaLinkNotFound        meta_link_not_found
     │    └── RunNotFound             run_not_found
     ├── Conflict (409)
     │    ├── RunNotResumable         run_not_resumable: only stopped or failed runs resume
     │    └── RunBusy                 run_in_progress: another process holds the run's lease
     └── TooManyRequests (429)
          └── CourseSyncTooSoon       course_sync_too_soon: one on-demand run per interval

Upstream failures come from the kit's clients: ``ApogeeFailed`` / ``ApogeeUnreachable``
(``fusion.apogee``) and ``MoodleError`` / ``MoodleUnavailable`` (``fusion.moodle.errors``).
"""

from __future__ import annotations

from fusion.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests


class CodeRejected(BadRequest):
    code = "apogee_code_rejected"


class SelfMetaLink(BadRequest):
    code = "meta_link_to_itself"


class NotCourseTeacher(Forbidden):
    code = "not_course_teacher"


class OperatorDecision(Forbidden):
    code = "operator_decision"


class NotCreatedEmpty(Forbidden):
    code = "course_not_created_empty"


class MethodNotFound(NotFound):
    code = "method_not_found"


class MetaLinkNotFound(NotFound):
    code = "meta_link_not_found"


class RunNotFound(NotFound):
    code = "run_not_found"


class RunNotResumable(Conflict):
    code = "run_not_resumable"


class RunBusy(Conflict):
    code = "run_in_progress"


class CourseSyncTooSoon(TooManyRequests):
    code = "course_sync_too_soon"
