"""The closed loop (CASE-*): a case moves through explicit states by recorded, immutable actions.

Every write goes through cases.services; the state machine below only says which moves exist.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for
from wangge.workdays.calendar import TimeUnit

from .choices import (
    ActionKind,
    AdmissionBasis,
    AdmissionRequestStatus,
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
    StatisticsGroup,
    UrgeLevel,
)

category_code_validator = RegexValidator(
    r"^\d{2}(\d{2})?$", _("A category code is 2 digits, or 4 for a subcategory.")
)


class Category(models.Model):
    """事件分类: 大类 (2 digits) and 小类 (4 digits: the parent's code and 2 more). Cases carry a 小类."""

    code = models.CharField(_("code"), max_length=4, unique=True, validators=[category_code_validator])
    name = models.CharField(_("name"), max_length=64)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    description = models.TextField(_("description"), blank=True)
    register_condition = models.TextField(_("registration condition"), blank=True)
    close_condition = models.TextField(_("closing condition"), blank=True)
    default_level = models.CharField(
        _("default handling level"), max_length=16, choices=HandlerLevel.choices, default=HandlerLevel.VILLAGE
    )
    default_department = models.CharField(
        _("default department"),
        max_length=64,
        blank=True,
        help_text=_(
            "Name of the department that usually handles it, e.g. 县应急管理局; matched in each county."
        ),
    )
    default_severity = models.CharField(
        _("default severity"), max_length=16, choices=Severity.choices, default=Severity.GENERAL
    )
    handling_steps = models.JSONField(_("standard handling steps"), default=list, blank=True)
    statistics_group = models.CharField(
        _("statistics group"),
        max_length=16,
        choices=StatisticsGroup.choices,
        blank=True,
        help_text=_(
            "Which KPIs count its cases: disputes (mediation, level of resolution) or petitions (online "
            "share). A subcategory left empty takes its top category's group."
        ),
    )
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("case category")
        verbose_name_plural = _("case categories")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_name_unique_in_parent"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_leaf(self) -> bool:
        return self.parent_id is not None

    @property
    def group(self) -> str:
        """The statistics group its cases count in: its own, else its top category's."""
        if self.statistics_group or self.parent_id is None:
            return self.statistics_group
        return self.parent.statistics_group

    def clean(self):
        errors = {}
        if self.parent_id:
            if self.parent.parent_id:
                errors["parent"] = _(
                    "Categories have two levels: a subcategory's parent must be a top category."
                )
            elif len(self.code) != 4 or not self.code.startswith(self.parent.code):
                errors["code"] = _("A subcategory's code is its parent's 2 digits followed by 2 more.")
        elif self.code and len(self.code) != 2:
            errors["code"] = _("A top category's code is 2 digits.")
        if errors:
            raise ValidationError(errors)


class TimeLimit(models.Model):
    """A time limit for one stage of a case at one handling level; no category means the default."""

    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="time_limits",
        help_text=_("Leave empty for the default that applies to every category without its own limit."),
    )
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    handler_level = models.CharField(_("handling level"), max_length=16, choices=HandlerLevel.choices)
    value = models.DecimalField(_("limit"), max_digits=6, decimal_places=1)
    unit = models.CharField(_("unit of time"), max_length=16, choices=TimeUnit.choices)

    class Meta:
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        ordering = ["category__code", "stage", "handler_level"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "stage", "handler_level"],
                condition=Q(category__isnull=False),
                name="time_limit_unique_per_category",
            ),
            models.UniqueConstraint(
                fields=["stage", "handler_level"],
                condition=Q(category__isnull=True),
                name="time_limit_unique_default",
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="time_limit_positive"),
        ]

    def __str__(self):
        return f"{self.get_stage_display()} · {self.get_handler_level_display()}: {self.value} {self.get_unit_display()}"


class CaseQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Cases under the user's territorial posts, cases assigned to their units or departments,
        and the cases they reported themselves. Department posts do not open their unit's whole subtree."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        if scope.is_empty:
            return self.none()
        condition = Q(reporter=user) if user.is_authenticated else Q(pk__in=[])
        if scope.territorial_paths:
            condition |= scope.path_q("unit__path", scope.territorial_paths)
            condition |= scope.path_q("owner_unit__path", scope.territorial_paths)
        assigned = Q(department_id__in=scope.department_ids) if scope.department_ids else Q(pk__in=[])
        if scope.territorial_paths:
            assigned |= scope.path_q("unit__path", scope.territorial_paths)
        # A dispatch returned as not theirs, or withdrawn by a redispatch, no longer opens the case.
        live = Assignment.objects.filter(assigned, case=OuterRef("pk")).exclude(
            status__in=[AssignmentStatus.RETURNED, AssignmentStatus.WITHDRAWN]
        )
        condition |= Exists(live)
        return self.filter(condition)

    def open(self):
        from .choices import OPEN_STATES

        return self.filter(state__in=OPEN_STATES)

    def overdue(self, now):
        """Open cases whose stage deadline has passed (超期)."""
        return self.open().filter(stage_due_at__lt=now)

    def due_soon(self, now):
        """Open cases whose stage deadline falls within the 临期 span from now (yellow)."""
        from .services import due_soon_threshold

        return self.open().filter(stage_due_at__gte=now, stage_due_at__lte=due_soon_threshold(now))


class Case(ConcurrentTransitionMixin, TimeStampedModel):
    """事件: one problem, from report to verified closure (CASE-1, CASE-2)."""

    uuid = models.UUIDField(
        _("client id"),
        default=uuid.uuid4,
        unique=True,
        help_text=_("Generated by the client; a retry never duplicates."),
    )
    number = models.CharField(_("case number"), max_length=24, unique=True, null=True, blank=True)
    tracking_code = models.CharField(_("tracking code"), max_length=8, unique=True)
    title = models.CharField(pgettext_lazy("case", "title"), max_length=100)
    description = models.TextField(_("description"))
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    severity = models.CharField(
        _("severity"), max_length=16, choices=Severity.choices, default=Severity.GENERAL
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    state = FSMField(_("status"), max_length=16, choices=CaseState.choices, default=CaseState.REPORTED)

    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        related_name="cases",
        help_text=_("Where it happened: the smallest unit containing the point."),
    )
    owner_unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("responsible level"),
        on_delete=models.PROTECT,
        related_name="owned_cases",
        help_text=_("The unit whose queue the case is in; moves up on escalation."),
    )
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    households = models.ManyToManyField(
        "ledger.Household", verbose_name=_("households involved"), blank=True, related_name="cases"
    )

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    reporter_name = models.CharField(
        _("reporter's name"), max_length=50, blank=True, help_text=_("For residents: how to address them.")
    )

    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, db_index=True)
    reject_reason = models.CharField(
        _("reason not registered"), max_length=16, choices=RejectReason.choices, blank=True
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )

    # Deadlines. due_at is the handling deadline in force (extensions move it); kpi_due_at is the same
    # without extensions, for on-time figures; stage_due_at is the deadline of the current stage.
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, default=Stage.DISPATCH)
    stage_due_at = models.DateTimeField(_("stage deadline"), null=True, blank=True)
    due_at = models.DateTimeField(_("deadline"), null=True, blank=True)
    kpi_due_at = models.DateTimeField(_("original deadline"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("found overdue at"), null=True, blank=True)
    due_soon_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    paused_at = models.DateTimeField(_("clock paused at"), null=True, blank=True)
    held_from_state = models.CharField(max_length=16, choices=CaseState.choices, blank=True, editable=False)

    lead_assignment = models.ForeignKey(
        "cases.Assignment",
        verbose_name=_("lead handler"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    dispatched_from = models.ForeignKey(
        "units.Unit",
        verbose_name=_("dispatched by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dispatched_cases",
    )
    resolved_level = models.CharField(
        _("resolved at level"), max_length=16, choices=HandlerLevel.choices, blank=True
    )
    resolved_in_place = models.BooleanField(_("resolved in the grid"), default=False)
    mediation_outcome = models.CharField(
        _("mediation outcome"), max_length=16, choices=MediationOutcome.choices, blank=True
    )
    petition_channel = models.CharField(
        _("petition channel"), max_length=16, choices=PetitionChannel.choices, blank=True
    )
    result = models.TextField(_("handling result"), blank=True)

    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    dispatch_count = models.PositiveSmallIntegerField(_("dispatches"), default=0)
    return_count = models.PositiveSmallIntegerField(_("returns"), default=0)
    wrong_dispatch_count = models.PositiveSmallIntegerField(_("wrong dispatches"), default=0)
    rework_count = models.PositiveSmallIntegerField(_("reworks"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("reopens"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("extensions"), default=0)
    urge_level = models.CharField(_("supervision"), max_length=8, choices=UrgeLevel.choices, blank=True)

    rating = models.CharField(_("rating"), max_length=24, choices=Rating.choices, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=500, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    public_summary = models.TextField(_("public summary"), blank=True)

    version = models.PositiveIntegerField(_("version"), default=1)

    scope_path_lookup = "unit__path"
    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "stage_due_at"], name="case_state_due"),
            models.Index(fields=["owner_unit", "state"], name="case_owner_state"),
            models.Index(fields=["unit", "created_at"], name="case_unit_created"),
            models.Index(fields=["category", "created_at"], name="case_category_created"),
            # The command centre counts cases by the day their original deadline fell (decision 0014);
            # without this index its "registered, closed or fell due" OR scans the whole table.
            models.Index(fields=["kpi_due_at"], name="case_kpi_due"),
        ]

    def __str__(self):
        return f"{self.number or self.tracking_code} {self.title}"

    @property
    def display_number(self) -> str:
        return self.number or self.formatted_tracking_code

    @property
    def formatted_tracking_code(self) -> str:
        return f"{self.tracking_code[:4]}-{self.tracking_code[4:]}"

    # The moves that exist. Who may make them, and everything they change besides the state, is in services.
    @transition(field=state, source=CaseState.REPORTED, target=CaseState.VERIFIED)
    def verify(self):
        pass

    @transition(field=state, source=[CaseState.REPORTED, CaseState.VERIFIED], target=CaseState.REGISTERED)
    def register(self):
        pass

    @transition(field=state, source=[CaseState.REPORTED, CaseState.VERIFIED], target=CaseState.REJECTED)
    def reject(self):
        pass

    @transition(field=state, source=CaseState.REGISTERED, target=CaseState.CLOSED)
    def handle_in_place(self):
        pass

    @transition(field=state, source=CaseState.REGISTERED, target=CaseState.REGISTERED)
    def escalate(self):
        pass

    @transition(field=state, source=CaseState.REGISTERED, target=CaseState.DISPATCHED)
    def dispatch(self):
        pass

    @transition(field=state, source=CaseState.DISPATCHED, target=CaseState.HANDLING)
    def accept(self):
        pass

    @transition(field=state, source=CaseState.DISPATCHED, target=CaseState.REGISTERED)
    def return_(self):
        pass

    @transition(field=state, source=CaseState.HANDLING, target=CaseState.HANDLING)
    def report_back(self):
        pass

    @transition(field=state, source=CaseState.HANDLING, target=CaseState.SUBMITTED)
    def submit(self):
        pass

    @transition(field=state, source=CaseState.SUBMITTED, target=CaseState.CLOSED)
    def check_pass(self):
        pass

    @transition(field=state, source=CaseState.SUBMITTED, target=CaseState.HANDLING)
    def check_fail(self):
        pass

    @transition(field=state, source=CaseState.CLOSED, target=CaseState.CLOSED)
    def rate(self):
        pass

    @transition(field=state, source=CaseState.CLOSED, target=CaseState.REGISTERED)
    def reopen(self):
        pass

    @transition(field=state, source=CaseState.CLOSED, target=CaseState.CLOSED)
    def publish(self):
        pass

    @transition(
        field=state,
        source=[CaseState.REGISTERED, CaseState.DISPATCHED, CaseState.HANDLING],
        target=CaseState.ON_HOLD,
    )
    def hold(self):
        pass

    @transition(field=state, source=CaseState.ON_HOLD, target=CaseState.ON_HOLD)
    def follow_up(self):
        pass

    @transition(
        field=state,
        source=CaseState.ON_HOLD,
        target=RETURN_VALUE(CaseState.REGISTERED, CaseState.DISPATCHED, CaseState.HANDLING),
    )
    def resume(self):
        return self.held_from_state

    @transition(
        field=state,
        source=[
            CaseState.REPORTED,
            CaseState.VERIFIED,
            CaseState.REGISTERED,
            CaseState.DISPATCHED,
            CaseState.HANDLING,
            CaseState.SUBMITTED,
        ],
        target=RETURN_VALUE(),
    )
    def urge(self):
        return self.state

    @transition(field=state, source=[CaseState.DISPATCHED, CaseState.HANDLING], target=RETURN_VALUE())
    def request_extension(self):
        return self.state

    @transition(field=state, source=[CaseState.DISPATCHED, CaseState.HANDLING], target=RETURN_VALUE())
    def decide_extension(self):
        return self.state


class Assignment(models.Model):
    """派单: one dispatch of a case to a unit or a department; 吹哨 dispatches add co-handlers (CASE-9)."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="assignments"
    )
    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    department = models.ForeignKey(
        "people.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    is_lead = models.BooleanField(_("lead"), default=True)
    status = models.CharField(
        _("status"), max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.PENDING
    )
    dispatched_from = models.ForeignKey(
        "units.Unit", verbose_name=_("dispatched by unit"), on_delete=models.PROTECT, related_name="+"
    )
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("dispatched by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    dispatched_at = models.DateTimeField(_("dispatched at"), default=timezone.now)
    due_at = models.DateTimeField(_("deadline"), null=True, blank=True)
    instructions = models.TextField(_("instructions"), blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    report = models.TextField(_("report"), blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["-is_lead", "dispatched_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=True, department__isnull=False)
                | Q(unit__isnull=False, department__isnull=True),
                name="assignment_unit_xor_department",
            )
        ]
        indexes = [models.Index(fields=["department", "status"]), models.Index(fields=["unit", "status"])]

    def __str__(self):
        return str(self.assignee)

    @property
    def assignee(self):
        return self.department or self.unit


class CaseAction(models.Model):
    """One step of a case, as it happened. Append-only: rows are never changed or deleted."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("action"), max_length=24, choices=ActionKind.choices)
    time = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(
        _("by (as shown)"), max_length=100, blank=True, help_text=_("For residents and the system.")
    )
    actor_role = models.CharField(_("role"), max_length=32, blank=True)
    actor_unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("acting unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_department = models.ForeignKey(
        "people.Department",
        verbose_name=_("acting department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    from_state = models.CharField(_("from"), max_length=16, choices=CaseState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=16, choices=CaseState.choices)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=36, blank=True)

    class Meta:
        verbose_name = _("case action")
        verbose_name_plural = _("case actions")
        ordering = ["time", "id"]
        indexes = [models.Index(fields=["case", "time"]), models.Index(fields=["kind", "time"])]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError(_("Case history is append-only."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Case history is append-only."))


def attachment_path(instance, filename):
    """Generated names only: nothing the client sent ends up in a path."""
    ext = getattr(instance, "image_extension", "jpg")
    today = timezone.localdate()
    return f"cases/{today:%Y/%m}/{uuid.uuid4().hex}.{ext}"


class CaseAttachment(models.Model):
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="attachments"
    )
    action = models.ForeignKey(
        CaseAction,
        verbose_name=_("action"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    image = models.ImageField(_("image"), upload_to=attachment_path)
    kind = models.CharField(
        _("kind"), max_length=8, choices=AttachmentKind.choices, default=AttachmentKind.PHOTO
    )
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.pk}"


class ExtensionRequest(models.Model):
    """延期申请: needs a reason and the dispatcher's approval; the original deadline stays for KPIs."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="extensions"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    working_days = models.PositiveSmallIntegerField(_("extra working days"))
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=16, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="one_pending_extension_per_case"
            ),
            models.CheckConstraint(condition=Q(working_days__gt=0), name="extension_days_positive"),
        ]

    def __str__(self):
        return f"{self.case} +{self.working_days}"


class CaseSerial(models.Model):
    """The last serial handed out per case-number prefix and day; incremented under a row lock."""

    prefix = models.CharField(max_length=12)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "day"], name="case_serial_unique")]

    def __str__(self):
        return f"{self.prefix}{self.day:%Y%m%d} → {self.last}"


# ---------------------------------------------------------------------------------------------------
# 准入事项清单 (WORK-4): the task types a county or township lets its grids take on. Written only through
# wangge.cases.admission; services.dispatch refuses a grid or village a case of a type not on the list.


class AdmissionQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """A list concerns everyone it binds and everyone above it: rows kept at one of the user's units,
        at a unit above one of them, or at a unit below them."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        if scope.is_empty:
            return self.none()
        from wangge.units.models import Unit

        above = sorted({prefix for path in scope.paths for prefix in Unit.path_prefixes(path)})
        return self.filter(Q(keeper__path__in=above) | scope.path_q("keeper__path"))


class AdmissionItem(models.Model):
    """One task type on the admission list a county or township keeps; a top category admits its
    subcategories. The list in force for a unit is the one of its nearest ancestor-or-self with items."""

    keeper = models.ForeignKey(
        "units.Unit",
        verbose_name=_("kept by"),
        on_delete=models.PROTECT,
        related_name="admission_items",
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="admission_items"
    )
    basis = models.CharField(_("basis"), max_length=16, choices=AdmissionBasis.choices)
    note = models.TextField(
        _("note"), blank=True, help_text=_("The law, document or decision it rests on, and any conditions.")
    )
    request = models.ForeignKey(
        "cases.AdmissionRequest",
        verbose_name=_("approved request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    scope_path_lookup = "keeper__path"
    objects = AdmissionQuerySet.as_manager()

    class Meta:
        verbose_name = _("admission list item")
        verbose_name_plural = _("admission list items")
        ordering = ["keeper__path", "category__code"]
        constraints = [
            models.UniqueConstraint(fields=["keeper", "category"], name="admission_item_unique"),
        ]

    def __str__(self):
        return f"{self.keeper.name} · {self.category}"


class AdmissionRequestQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """The requester's own requests, those kept at or below the user's units (the keepers and the
        levels above them), and those made by the user's units or departments."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        if scope.is_empty:
            return self.none()
        condition = Q(requested_by=user) | scope.path_q("keeper__path")
        condition |= scope.path_q("requesting_unit__path", scope.territorial_paths)
        if scope.department_ids:
            condition |= Q(requesting_department_id__in=scope.department_ids)
        return self.filter(condition)


class AdmissionRequest(models.Model):
    """A request to put a task type on a keeper's admission list; until approved, grids are not given it."""

    keeper = models.ForeignKey(
        "units.Unit", verbose_name=_("kept by"), on_delete=models.PROTECT, related_name="admission_requests"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="admission_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    requesting_unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("requesting unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requesting_department = models.ForeignKey(
        "people.Department",
        verbose_name=_("requesting department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    case = models.ForeignKey(
        Case,
        verbose_name=_("case refused"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The case whose dispatch to a grid the list refused, if the request comes from one."),
    )
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AdmissionRequestStatus.choices,
        default=AdmissionRequestStatus.PENDING,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    scope_path_lookup = "keeper__path"
    objects = AdmissionRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("admission request")
        verbose_name_plural = _("admission requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["keeper", "category"],
                condition=Q(status="pending"),
                name="one_pending_admission_request",
            ),
        ]
        indexes = [models.Index(fields=["keeper", "status"])]

    def __str__(self):
        return f"{self.keeper.name} · {self.category} · {self.get_status_display()}"
