"""The vocabularies of the case loop. Stored values are English; labels are translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CaseState(models.TextChoices):
    REPORTED = "reported", _("Reported, awaiting verification")
    VERIFIED = "verified", _("Verified, awaiting registration")
    REGISTERED = "registered", pgettext_lazy("case state", "Registered")
    DISPATCHED = "dispatched", _("Dispatched, awaiting acceptance")
    HANDLING = "handling", _("Being handled")
    SUBMITTED = "submitted", _("Handled, awaiting check")
    CLOSED = "closed", pgettext_lazy("case state", "Closed")
    REJECTED = "rejected", _("Not registered")
    ON_HOLD = "on_hold", _("Long-term management")


# States in which somebody still has to act, so a clock runs (long-term management pauses it).
OPEN_STATES = (
    CaseState.REPORTED,
    CaseState.VERIFIED,
    CaseState.REGISTERED,
    CaseState.DISPATCHED,
    CaseState.HANDLING,
    CaseState.SUBMITTED,
)
FINAL_STATES = (CaseState.CLOSED, CaseState.REJECTED)


class Source(models.TextChoices):
    PATROL = "patrol", _("Grid worker patrol")
    RESIDENT = "resident", _("Resident report")
    HOTLINE = "hotline", _("12345 hotline")
    WECHAT = "wechat", _("WeChat group")
    VIDEO = "video", _("Video surveillance")
    HIGHER_LEVEL = "higher_level", _("Assigned by the level above")
    DEPARTMENT = "department", _("Department")
    TALK_OFFICE = "talk_office", _("Residents' talk office")
    VISIT = "visit", _("Household visit")
    MEETING = "meeting", _("Meeting resolution")


# Sources whose reports a grid worker verifies on site before registration (核实).
SOURCES_NEEDING_VERIFICATION = frozenset({Source.RESIDENT, Source.HOTLINE, Source.WECHAT, Source.TALK_OFFICE})


class Severity(models.TextChoices):
    GENERAL = "general", _("General")
    MAJOR = "major", _("Major")
    GRAVE = "grave", _("Grave")


class StatisticsGroup(models.TextChoices):
    """Categories whose cases the dispute and petition KPIs count (CASE-13, CASE-14); set on the category."""

    DISPUTE = "dispute", _("Disputes (矛盾纠纷)")
    PETITION = "petition", _("Petitions (信访)")


class MediationOutcome(models.TextChoices):
    """调解结果 of a dispute case, recorded with its handling result (CASE-13)."""

    SUCCEEDED = "succeeded", _("Mediation succeeded")
    FAILED = "failed", _("Mediation failed")


class PetitionChannel(models.TextChoices):
    """信访形式: how a petition reached us; 网上信访 is the channel the ≥60% target counts (CASE-14)."""

    ONLINE = "online", _("Online petition")
    LETTER = "letter", _("Letter")
    VISIT = "visit", _("In person")
    PHONE = "phone", _("By phone")


# The channel a petition came by when its source says it (a report through the public page or a WeChat
# group is made online, a hotline call by phone, a talk office or a grid worker's visit in person); other
# sources (assigned from above, a department, a meeting, video) leave it to the registering staff.
PETITION_CHANNEL_OF_SOURCE = {
    Source.RESIDENT: PetitionChannel.ONLINE,
    Source.WECHAT: PetitionChannel.ONLINE,
    Source.HOTLINE: PetitionChannel.PHONE,
    Source.TALK_OFFICE: PetitionChannel.VISIT,
    Source.VISIT: PetitionChannel.VISIT,
    Source.PATROL: PetitionChannel.VISIT,
}


class HandlerLevel(models.TextChoices):
    """Who handles a case, for time limits and the level-of-resolution statistics (CASE-6)."""

    GRID = "grid", _("Grid")
    VILLAGE = "village", _("Village/community")
    TOWNSHIP = "township", _("Township/street")
    COUNTY = "county", _("County")
    DEPARTMENT = "department", _("Department")


class Stage(models.TextChoices):
    DISPATCH = "dispatch", _("Screening and dispatch")
    HANDLING = "handling", _("Handling")
    VERIFICATION = "verification", _("Check")


class RejectReason(models.TextChoices):
    NOT_A_CASE = "not_a_case", _("Not a case")
    DUPLICATE = "duplicate", _("Duplicate")
    OUT_OF_SCOPE = "out_of_scope", _("Outside our remit")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY_SATISFIED = "basically_satisfied", _("Basically satisfied")
    UNSATISFIED = "unsatisfied", _("Unsatisfied")


class UrgeLevel(models.TextChoices):
    NORMAL = "normal", _("Reminder")
    YELLOW = "yellow", _("Yellow card")
    RED = "red", _("Red card")


URGE_ORDER = {"": 0, UrgeLevel.NORMAL: 1, UrgeLevel.YELLOW: 2, UrgeLevel.RED: 3}


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    BEFORE = "before", _("Before handling")
    AFTER = "after", _("After handling")


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting acceptance")
    ACCEPTED = "accepted", pgettext_lazy("assignment status", "Accepted")
    REPORTED_BACK = "reported_back", _("Reported back")
    RETURNED = "returned", pgettext_lazy("assignment status", "Returned")
    DONE = "done", _("Done")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Lapsed")  # the case left the handler's hands before anyone decided


class AdmissionBasis(models.TextChoices):
    """Why a task type is on a grid admission list (准入事项清单, WORK-4; seed 000)."""

    LAW = "law", _("Law or regulation")
    SUPERIOR = "superior", _("Rule of a superior level")
    APPROVED = "approved", _("Approved by this level")


class AdmissionRequestStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class ActionKind(models.TextChoices):
    REPORT = "report", _("Reported")
    VERIFY = "verify", _("Verified on site")
    REGISTER = "register", _("Registered")
    REJECT = "reject", _("Not registered")
    HANDLE_IN_PLACE = "handle_in_place", _("Handled in the grid")
    ESCALATE = "escalate", _("Escalated")
    DISPATCH = "dispatch", _("Dispatched")
    ACCEPT = "accept", _("Accepted")
    RETURN = "return", _("Returned")
    REPORT_BACK = "report_back", _("Co-handler reported back")
    SUBMIT = "submit", _("Handling submitted")
    CHECK_PASS = "check_pass", _("Check passed, closed")
    CHECK_FAIL = "check_fail", _("Check failed, sent back")
    RATE = "rate", _("Rated")
    REOPEN = "reopen", _("Reopened")
    HOLD = "hold", _("Put into long-term management")
    FOLLOW_UP = "follow_up", _("Follow-up")
    RESUME = "resume", _("Taken out of long-term management")
    URGE = "urge", _("Urged")
    REQUEST_EXTENSION = "request_extension", _("Extension requested")
    APPROVE_EXTENSION = "approve_extension", _("Extension approved")
    REFUSE_EXTENSION = "refuse_extension", _("Extension refused")
    PUBLISH = "publish", _("Published")
    OVERDUE = "overdue", _("Overdue")


# The steps a resident sees when tracking a case (page and API). Left out: internal routing and
# supervision (returns, co-handler reports, urging, extensions, the overdue mark), which say nothing
# about their problem; notes and names are never shown, only the kind of step and its time.
PUBLIC_ACTION_KINDS = frozenset(
    {
        ActionKind.REPORT,
        ActionKind.VERIFY,
        ActionKind.REGISTER,
        ActionKind.REJECT,
        ActionKind.HANDLE_IN_PLACE,
        ActionKind.ESCALATE,
        ActionKind.DISPATCH,
        ActionKind.ACCEPT,
        ActionKind.SUBMIT,
        ActionKind.CHECK_PASS,
        ActionKind.CHECK_FAIL,
        ActionKind.RATE,
        ActionKind.REOPEN,
        ActionKind.HOLD,
        ActionKind.FOLLOW_UP,
        ActionKind.RESUME,
        ActionKind.PUBLISH,
    }
)
