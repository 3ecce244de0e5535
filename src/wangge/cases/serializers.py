"""How cases look over the API, and the request body of every step (one serializer per step, so the
OpenAPI document describes each body). The rules themselves live in `cases.services`: these classes only
shape input for it and output from it.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wangge.notices.models import Notification, NotificationKind
from wangge.units.models import Unit

from . import policy, services
from .choices import (
    OPEN_STATES,
    PUBLIC_ACTION_KINDS,
    ActionKind,
    AssignmentStatus,
    AttachmentKind,
    CaseState,
    ExtensionStatus,
    HandlerLevel,
    MediationOutcome,
    PetitionChannel,
    Rating,
    RejectReason,
    Severity,
    Source,
    Stage,
    UrgeLevel,
)
from .models import Assignment, Case, CaseAction, CaseAttachment, Category, ExtensionRequest
from .redact import mask_personal_data

# ---------------------------------------------------------------------------------------------------
# Vocabularies: one named OpenAPI enum per vocabulary, wherever it appears (request or answer), so a
# client generator makes one type per vocabulary and field names never clash across resources.


class VocabularyField(serializers.ChoiceField):
    """A value of one vocabulary; an empty value is answered as null rather than ""."""

    def to_representation(self, value):
        return super().to_representation(value) if value else None


def vocabulary(component: str, values: list[str]) -> type[VocabularyField]:
    field = type(f"{component}Field", (VocabularyField,), {})
    return extend_schema_field({"type": "string", "enum": list(values)}, component_name=component)(field)


# The step names of the API: the last part of POST /cases/{id}/{step}/. `policy` calls two of them
# differently: "return_" (a Python keyword) and check_pass/check_fail (one endpoint with `passed`).
STEPS = [
    "verify",
    "register",
    "reject",
    "handle_in_place",
    "escalate",
    "dispatch",
    "accept",
    "return",
    "report_back",
    "submit",
    "check",
    "rate",
    "reopen",
    "publish",
    "hold",
    "follow_up",
    "resume",
    "urge",
    "request_extension",
    "decide_extension",
]
POLICY_TO_STEP = {"return_": "return", "check_pass": "check", "check_fail": "check"}
DEADLINE_STATUSES = ["green", "yellow", "red"]

CaseStateField = vocabulary("CaseStateEnum", CaseState.values)
SourceField = vocabulary("CaseSourceEnum", Source.values)
SeverityField = vocabulary("CaseSeverityEnum", Severity.values)
HandlerLevelField = vocabulary("HandlerLevelEnum", HandlerLevel.values)
StageField = vocabulary("CaseStageEnum", Stage.values)
RejectReasonField = vocabulary("RejectReasonEnum", RejectReason.values)
RatingField = vocabulary("RatingEnum", Rating.values)
MediationOutcomeField = vocabulary("MediationOutcomeEnum", MediationOutcome.values)
PetitionChannelField = vocabulary("PetitionChannelEnum", PetitionChannel.values)
UrgeLevelField = vocabulary("UrgeLevelEnum", UrgeLevel.values)
AttachmentKindField = vocabulary("AttachmentKindEnum", AttachmentKind.values)
AssignmentStatusField = vocabulary("AssignmentStatusEnum", AssignmentStatus.values)
ExtensionStatusField = vocabulary("ExtensionStatusEnum", ExtensionStatus.values)
ActionKindField = vocabulary("CaseActionKindEnum", ActionKind.values)
NotificationKindField = vocabulary("NotificationKindEnum", NotificationKind.values)
DeadlineStatusField = vocabulary("DeadlineStatusEnum", DEADLINE_STATUSES)
StepField = vocabulary("CaseStepEnum", STEPS)


def api_steps(policy_names) -> list[str]:
    """Policy action names as API step names, in the loop's order, each once."""
    steps: list[str] = []
    for name in policy_names:
        step = POLICY_TO_STEP.get(name, name)
        if step not in steps:
            steps.append(step)
    return steps


# ---------------------------------------------------------------------------------------------------
# References to other records


class UnitRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["code", "name"]
        read_only_fields = fields


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["code", "name"]
        read_only_fields = fields


class PersonRefSerializer(serializers.Serializer):
    username = serializers.CharField(read_only=True)
    full_name = serializers.CharField(read_only=True)


class AssigneeSerializer(serializers.Serializer):
    """A unit or a department: exactly one of the two codes is set."""

    unit = serializers.CharField(read_only=True, allow_null=True, help_text=_("Unit code, or null."))
    department = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("Department code, or null.")
    )
    name = serializers.CharField(read_only=True)


def assignee_of(assignment: Assignment) -> dict:
    return {
        "unit": assignment.unit.code if assignment.unit_id else None,
        "department": assignment.department.code if assignment.department_id else None,
        "name": str(assignment.assignee),
    }


# ---------------------------------------------------------------------------------------------------
# Cases


class CaseSerializer(serializers.ModelSerializer):
    """A case as listed: enough for a queue row with its deadline colour."""

    url = serializers.HyperlinkedIdentityField(view_name="api-v1:case-detail")
    tracking_code = serializers.CharField(source="formatted_tracking_code", read_only=True)
    category = CategoryRefSerializer(read_only=True, allow_null=True)
    state = CaseStateField(choices=CaseState.choices, read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    source = SourceField(choices=Source.choices, read_only=True)
    severity = SeverityField(choices=Severity.choices, read_only=True)
    unit = UnitRefSerializer(read_only=True)
    owner_unit = UnitRefSerializer(read_only=True)
    urge_level = UrgeLevelField(choices=UrgeLevel.choices, read_only=True, allow_null=True)
    deadline_status = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "url",
            "number",
            "tracking_code",
            "title",
            "category",
            "state",
            "state_label",
            "source",
            "severity",
            "unit",
            "owner_unit",
            "stage_due_at",
            "due_at",
            "deadline_status",
            "urge_level",
            "created_at",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(DeadlineStatusField(choices=DEADLINE_STATUSES, allow_null=True))
    def get_deadline_status(self, case) -> str | None:
        """green / yellow (due soon) / red (overdue) for the current stage; null when no clock runs."""
        return services.deadline_status(case) or None


class AttachmentSerializer(serializers.ModelSerializer):
    kind = AttachmentKindField(choices=AttachmentKind.choices, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = CaseAttachment
        fields = ["id", "kind", "lng", "lat", "size", "created_at", "url"]
        read_only_fields = fields

    def get_url(self, attachment) -> str:
        """The image, served through the case's scope check (never as a public media file)."""
        path = reverse("cases:attachment", args=[attachment.case_id, attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class CaseActionSerializer(serializers.ModelSerializer):
    """One recorded step of the timeline."""

    step = ActionKindField(source="kind", choices=ActionKind.choices, read_only=True)
    step_label = serializers.CharField(source="get_kind_display", read_only=True)
    actor = serializers.SerializerMethodField()
    actor_unit = UnitRefSerializer(read_only=True, allow_null=True)
    actor_department = serializers.CharField(
        source="actor_department.name", read_only=True, allow_null=True, default=None
    )
    from_state = serializers.CharField(read_only=True, help_text=_("A case state; empty for the report."))
    to_state = serializers.CharField(read_only=True, help_text=_("A case state."))
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = CaseAction
        fields = [
            "id",
            "step",
            "step_label",
            "time",
            "actor",
            "actor_label",
            "actor_role",
            "actor_unit",
            "actor_department",
            "from_state",
            "to_state",
            "note",
            "data",
            "attachments",
        ]
        read_only_fields = fields

    @extend_schema_field(PersonRefSerializer(allow_null=True))
    def get_actor(self, action) -> dict | None:
        """The staff member who acted; null for residents and the system (see `actor_label`)."""
        if action.actor is None:
            return None
        return {"username": action.actor.username, "full_name": action.actor.full_name}


class AssignmentSerializer(serializers.ModelSerializer):
    assignee = serializers.SerializerMethodField()
    status = AssignmentStatusField(choices=AssignmentStatus.choices, read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    dispatched_from = UnitRefSerializer(read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "assignee",
            "is_lead",
            "status",
            "status_label",
            "dispatched_from",
            "dispatched_at",
            "due_at",
            "instructions",
            "accepted_at",
            "finished_at",
            "report",
        ]
        read_only_fields = fields

    @extend_schema_field(AssigneeSerializer)
    def get_assignee(self, assignment) -> dict:
        return assignee_of(assignment)


class ExtensionSerializer(serializers.ModelSerializer):
    status = ExtensionStatusField(choices=ExtensionStatus.choices, read_only=True)
    requested_by = serializers.CharField(source="requested_by.full_name", read_only=True)

    class Meta:
        model = ExtensionRequest
        fields = [
            "id",
            "working_days",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class RejectionSerializer(serializers.Serializer):
    reason = RejectReasonField(choices=RejectReason.choices, read_only=True)
    reason_label = serializers.CharField(read_only=True)
    duplicate_of = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("Id of the original case (for a duplicate).")
    )


class CaseDetailSerializer(CaseSerializer):
    """A case with everything its page shows, what the caller may do next, and its `version` to send
    back as `expected_version`."""

    description = serializers.CharField(read_only=True)
    reporter = serializers.SerializerMethodField()
    households = serializers.SerializerMethodField()
    stage = StageField(choices=Stage.choices, read_only=True)
    resolved_level = HandlerLevelField(choices=HandlerLevel.choices, read_only=True, allow_null=True)
    rejection = serializers.SerializerMethodField()
    rating = RatingField(choices=Rating.choices, read_only=True, allow_null=True)
    mediation_outcome = MediationOutcomeField(
        choices=MediationOutcome.choices, read_only=True, allow_blank=True
    )
    petition_channel = PetitionChannelField(choices=PetitionChannel.choices, read_only=True, allow_blank=True)
    allowed_actions = serializers.SerializerMethodField()
    assignments = AssignmentSerializer(many=True, read_only=True)
    extensions = ExtensionSerializer(many=True, read_only=True)
    timeline = CaseActionSerializer(source="actions", many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [
            *CaseSerializer.Meta.fields,
            "description",
            "lng",
            "lat",
            "address",
            "reporter",
            "reporter_name",
            "households",
            "registered_at",
            "closed_at",
            "rejection",
            "stage",
            "kpi_due_at",
            "paused_at",
            "resolved_level",
            "resolved_in_place",
            "result",
            "mediation_outcome",
            "petition_channel",
            "escalation_count",
            "dispatch_count",
            "return_count",
            "wrong_dispatch_count",
            "rework_count",
            "reopen_count",
            "extension_count",
            "rating",
            "rating_comment",
            "rated_at",
            "published_at",
            "public_summary",
            "updated_at",
            "allowed_actions",
            "assignments",
            "extensions",
            "timeline",
        ]
        read_only_fields = fields

    def _user(self):
        request = self.context.get("request")
        return request.user if request is not None else None

    @extend_schema_field(PersonRefSerializer(allow_null=True))
    def get_reporter(self, case) -> dict | None:
        """The staff member who reported it; null for residents (see `reporter_name`)."""
        if case.reporter is None:
            return None
        return {"username": case.reporter.username, "full_name": case.reporter.full_name}

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_households(self, case) -> list[str]:
        """Numbers of the households involved, as far as the caller may see them."""
        return list(case.households.visible_to(self._user()).values_list("number", flat=True))

    @extend_schema_field(RejectionSerializer(allow_null=True))
    def get_rejection(self, case) -> dict | None:
        if not case.reject_reason:
            return None
        return {
            "reason": case.reject_reason,
            "reason_label": case.get_reject_reason_display(),
            "duplicate_of": case.duplicate_of_id,
        }

    @extend_schema_field(serializers.ListField(child=StepField(choices=STEPS)))
    def get_allowed_actions(self, case) -> list[str]:
        """The steps the caller may take now: POST /cases/{id}/{step}/."""
        return api_steps(policy.allowed_actions(self._user(), case))


# ---------------------------------------------------------------------------------------------------
# Request bodies


class OptionalFloatField(serializers.FloatField):
    """A number, or an empty string / null for "not known" (a photo taken without a GPS fix)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        if data == "":
            data = None
        return super().run_validation(data)


class VersionedSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=_(
            "The case's `version` as the client last saw it. If somebody changed the case since, the "
            "step is refused with 409 and the current version."
        ),
    )


class PhotosSerializer(serializers.Serializer):
    """Photos come as multipart files named `photos`; `photo_kinds`, `photo_lngs` and `photo_lats`,
    when sent, hold one entry per photo in the same order (an empty longitude or latitude: no GPS fix)."""

    photos = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text=_("Images (JPEG, PNG or WebP) within the upload size limit, sent as multipart files."),
    )
    photo_kinds = serializers.ListField(
        child=AttachmentKindField(choices=AttachmentKind.choices),
        required=False,
        help_text=_("One per photo: photo, before (处置前) or after (处置后). Default: photo."),
    )
    photo_lngs = serializers.ListField(
        child=OptionalFloatField(), required=False, help_text=_("One longitude per photo (WGS 84).")
    )
    photo_lats = serializers.ListField(
        child=OptionalFloatField(), required=False, help_text=_("One latitude per photo (WGS 84).")
    )

    PARALLEL = ("photo_kinds", "photo_lngs", "photo_lats")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        count = len(attrs.get("photos", []))
        errors = {
            name: [_("Send one value per photo (%(count)d), or none at all.") % {"count": count}]
            for name in self.PARALLEL
            if name in attrs and len(attrs[name]) not in (0, count)
        }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    @staticmethod
    def photos_of(data) -> list[services.Photo]:
        files = data.get("photos", [])
        kinds = data.get("photo_kinds") or [AttachmentKind.PHOTO] * len(files)
        lngs = data.get("photo_lngs") or [None] * len(files)
        lats = data.get("photo_lats") or [None] * len(files)
        return [
            services.Photo(file=f, kind=kind, lng=lng, lat=lat)
            for f, kind, lng, lat in zip(files, kinds, lngs, lats, strict=True)
        ]


def code_slug_field(model_queryset, message, **kwargs):
    return serializers.SlugRelatedField(
        slug_field="code",
        queryset=model_queryset,
        error_messages={"does_not_exist": message, "invalid": message},
        **kwargs,
    )


class CaseCreateSerializer(PhotosSerializer):
    """A report (采集/上报). Give the place as a GPS point, a unit code, or both."""

    uuid = serializers.UUIDField(
        help_text=_(
            "Generated by the client for this report and sent again unchanged on every retry: a "
            "repeated id answers 200 with the case already made, never a second case."
        )
    )
    source = SourceField(choices=Source.choices, default=Source.PATROL)
    title = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text=_("Leave out to use the description's first line."),
    )
    description = serializers.CharField(allow_blank=True)
    category = code_slug_field(
        Category.objects.all(),
        _("No category with the code {value}."),
        required=False,
        allow_null=True,
        help_text=_("Code of a subcategory (4 digits)."),
    )
    severity = SeverityField(choices=Severity.choices, required=False)
    lng = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    unit = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=_("Code of the unit where it happened, if there is no GPS point (or to check it)."),
    )
    attach_to_own_unit = serializers.BooleanField(
        default=False,
        help_text=_("A point outside every grid is attached to the reporter's own unit instead of refused."),
    )
    register_now = serializers.BooleanField(
        default=False,
        help_text=_("Register at once when the reporter may (a grid worker's find in their own grid)."),
    )
    petition_channel = PetitionChannelField(
        choices=PetitionChannel.choices,
        required=False,
        allow_blank=True,
        help_text=_(
            "With register_now, for a petition (信访) whose source does not tell how it was received."
        ),
    )
    households = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=_("Numbers of the households involved."),
    )


class PublicReportSerializer(PhotosSerializer):
    """A resident's report from the unit's public page (群众点单), without an account."""

    uuid = serializers.UUIDField(
        help_text=_("Generated by the page for this report; a retry with the same id makes no second case.")
    )
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    category = code_slug_field(
        Category.objects.filter(is_active=True),
        _("No category with the code {value}."),
        required=False,
        allow_null=True,
    )
    lng = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reporter_name = serializers.CharField(
        max_length=50, required=False, allow_blank=True, help_text=_("How to address you (optional).")
    )


class TrackingCodeSerializer(serializers.Serializer):
    tracking_code = serializers.CharField(
        help_text=_("Keep it: with it you can follow the case and rate its result.")
    )


class NoteSerializer(VersionedSerializer):
    note = serializers.CharField(allow_blank=True)


class OptionalNoteSerializer(VersionedSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(VersionedSerializer):
    reason = serializers.CharField(allow_blank=True)


class VerifySerializer(NoteSerializer, PhotosSerializer):
    """核实: what was found on site."""


class RegisterSerializer(OptionalNoteSerializer):
    """立案: the case gets its number and its clock starts."""

    category = code_slug_field(
        Category.objects.all(),
        _("No category with the code {value}."),
        required=False,
        allow_null=True,
        help_text=_("Code of a subcategory; leave out to keep the reported one."),
    )
    severity = SeverityField(choices=Severity.choices, required=False)
    petition_channel = PetitionChannelField(
        choices=PetitionChannel.choices,
        required=False,
        allow_blank=True,
        help_text=_(
            "For a petition (信访): how it was received; left out, it follows from the source where it can."
        ),
    )


class RejectSerializer(NoteSerializer):
    """不予立案, with the reason; a duplicate names the original case."""

    reason = RejectReasonField(choices=RejectReason.choices)
    duplicate_of = serializers.IntegerField(
        required=False, allow_null=True, help_text=_("Id of the original case (for a duplicate).")
    )


class ResultSerializer(VersionedSerializer, PhotosSerializer):
    result = serializers.CharField(allow_blank=True)
    mediation_outcome = MediationOutcomeField(
        choices=MediationOutcome.choices,
        required=False,
        allow_blank=True,
        help_text=_("Required for a dispute (矛盾纠纷): whether the mediation succeeded."),
    )


class HandleInPlaceSerializer(ResultSerializer):
    """小事不出网格: the result, and the case is closed."""


class SubmitSerializer(ResultSerializer):
    """办结: the lead handler's result."""


class EscalateSerializer(ReasonSerializer):
    """上报 to the next level up."""


class TargetSerializer(serializers.Serializer):
    """A unit (by its code) or a department (by its code): give exactly one."""

    unit = serializers.CharField(required=False, help_text=_("Unit code."))
    department = serializers.CharField(required=False, help_text=_("Department code."))

    def validate(self, attrs):
        if ("unit" in attrs) == ("department" in attrs):
            raise serializers.ValidationError(_("Give either a unit code or a department code."))
        return attrs


class DispatchSerializer(VersionedSerializer):
    """派单 / 吹哨: a lead handler, optional co-handlers who each report back, an optional deadline."""

    lead = TargetSerializer()
    co_handlers = TargetSerializer(many=True, required=False)
    due_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=_("Leave out for the category's time limit at the handler's level."),
    )
    instructions = serializers.CharField(required=False, allow_blank=True, default="")


class AcceptSerializer(OptionalNoteSerializer):
    """接单."""


class ReturnSerializer(ReasonSerializer):
    """退回 to the dispatcher."""

    wrongly_dispatched = serializers.BooleanField(
        default=True, help_text=_("Counts against the dispatcher's accuracy (准确派遣率).")
    )


class ReportBackSerializer(NoteSerializer, PhotosSerializer):
    """部门报到: a co-handler reports what it did."""


class CheckSerializer(NoteSerializer, PhotosSerializer):
    """核查 on site: passed closes the case (销号); failed sends it back for rework (返工)."""

    passed = serializers.BooleanField()


class RateSerializer(VersionedSerializer):
    """回访评价, recorded by staff after the return visit."""

    rating = RatingField(choices=Rating.choices)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PublicRateSerializer(serializers.Serializer):
    rating = RatingField(choices=Rating.choices)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReopenSerializer(NoteSerializer):
    """Reopen after an unsatisfied rating."""


class PublishSerializer(VersionedSerializer):
    """Put the result on the public board, in words without personal data."""

    summary = serializers.CharField(allow_blank=True)


class HoldSerializer(ReasonSerializer):
    """长期管理: the clocks pause."""


class FollowUpSerializer(NoteSerializer, PhotosSerializer):
    """A periodic follow-up note on a case in long-term management."""


class ResumeSerializer(NoteSerializer):
    """Out of long-term management; the deadlines move by the paused working time."""


class UrgeSerializer(NoteSerializer):
    """督办/催办."""

    level = UrgeLevelField(choices=UrgeLevel.choices)


class RequestExtensionSerializer(ReasonSerializer):
    """延期申请 by the lead handler: extra working days and the reason; the dispatcher decides."""

    working_days = serializers.IntegerField(min_value=1, max_value=60)


class DecideExtensionSerializer(OptionalNoteSerializer):
    """Approve (the deadline moves; the KPI deadline stays) or refuse (with a reason) the pending request."""

    approve = serializers.BooleanField()


# ---------------------------------------------------------------------------------------------------
# Conflicts


class TransitionConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    allowed = serializers.ListField(
        child=StepField(choices=STEPS), help_text=_("The steps the caller may take instead.")
    )


class StaleConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    version = serializers.IntegerField(help_text=_("The case's current version."))


# ---------------------------------------------------------------------------------------------------
# Public tracking


class PublicStepSerializer(serializers.Serializer):
    step = ActionKindField(choices=ActionKind.choices, read_only=True)
    step_label = serializers.CharField(read_only=True)
    time = serializers.DateTimeField(read_only=True)


class PublicTrackingSerializer(serializers.Serializer):
    """What a resident sees by tracking code: the case's progress, nothing about people or other cases."""

    tracking_code = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    category = serializers.CharField(read_only=True, allow_null=True)
    state = CaseStateField(choices=CaseState.choices, read_only=True)
    status = serializers.CharField(read_only=True)
    timeline = PublicStepSerializer(many=True, read_only=True)
    result = serializers.CharField(read_only=True, help_text=_("The handling result, once closed."))
    due_at = serializers.DateTimeField(read_only=True, allow_null=True)
    can_rate = serializers.BooleanField(read_only=True)

    @staticmethod
    def answer(case: Case) -> dict:
        """Built field by field on purpose: nothing reaches a resident that is not named here."""
        steps = [
            {"step": kind, "step_label": ActionKind(kind).label, "time": time}
            for kind, time in case.actions.filter(kind__in=PUBLIC_ACTION_KINDS).values_list("kind", "time")
        ]
        return {
            "tracking_code": case.formatted_tracking_code,
            "title": mask_personal_data(case.title),
            "category": case.category.name if case.category_id else None,
            "state": case.state,
            "status": case.get_state_display(),
            "timeline": steps,
            "result": mask_personal_data(case.result) if case.state == CaseState.CLOSED else "",
            "due_at": case.due_at if case.state in OPEN_STATES else None,
            "can_rate": not case.rating and policy.state_allows(case, "rate"),
        }


# ---------------------------------------------------------------------------------------------------
# Categories and notifications


class SubcategorySerializer(serializers.ModelSerializer):
    default_level = HandlerLevelField(choices=HandlerLevel.choices, read_only=True)
    default_severity = SeverityField(choices=Severity.choices, read_only=True)

    class Meta:
        model = Category
        fields = [
            "code",
            "name",
            "description",
            "register_condition",
            "close_condition",
            "default_level",
            "default_department",
            "default_severity",
            "handling_steps",
        ]
        read_only_fields = fields


class CategoryTreeSerializer(serializers.ModelSerializer):
    children = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["code", "name", "description", "children"]
        read_only_fields = fields

    @extend_schema_field(SubcategorySerializer(many=True))
    def get_children(self, category) -> list[dict]:
        """Its subcategories in use; cases are reported under these."""
        return SubcategorySerializer(category.active_children, many=True).data


class NotificationSerializer(serializers.ModelSerializer):
    kind = NotificationKindField(choices=NotificationKind.choices, read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    case = serializers.IntegerField(source="case_id", read_only=True, allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "kind_label", "title", "body", "url", "case", "created_at", "read_at"]
        read_only_fields = fields


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        help_text=_("Notifications to mark read; leave out to mark all of them read."),
    )


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text=_("How many notifications were unread and are now read."))
