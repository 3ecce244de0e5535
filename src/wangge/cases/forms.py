"""Forms of the desk pages: one small form per step of the loop, the batch dispatch and the queue filters.

Each action form knows which service it calls (`perform`); the services decide everything else and their
ValidationErrors land on the field they name (core.forms.apply_service_errors).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.people.models import Department
from wangge.units.models import Unit
from wangge.workdays.calendar import end_of_day

from . import services
from .choices import (
    AttachmentKind,
    MediationOutcome,
    PetitionChannel,
    Rating,
    RejectReason,
    Severity,
    StatisticsGroup,
    UrgeLevel,
)
from .models import Case, Category
from .services import Photo

# ---------------------------------------------------------------------------------------------------
# Fields


class MultipleImageInput(forms.FileInput):
    """Several photos at once; on a phone the camera opens directly (capture=environment)."""

    allow_multiple_selected = True

    def __init__(self, attrs=None):
        super().__init__({"accept": "image/*", "capture": "environment", "multiple": True, **(attrs or {})})


class PhotosField(forms.FileField):
    """A list of uploaded files (maybe empty), at most `max_files`; the services check each is an image."""

    widget = MultipleImageInput

    def __init__(self, *, max_files: int | None = None, **kwargs):
        self.max_files = max_files
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Photos"))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = (
            [item for item in data if item] if isinstance(data, (list, tuple)) else ([data] if data else [])
        )
        if self.max_files is not None and len(files) > self.max_files:
            raise forms.ValidationError(
                _("Attach at most %(n)d photos.") % {"n": self.max_files}, code="too_many"
            )
        single = super().clean
        return [single(item, initial) for item in files]


def units_below(units, depth: int = 2) -> list[Unit]:
    """Current units up to `depth` levels below each of `units`, in tree order, each with `.parent_name`.

    Two levels: a county dispatches to townships and their villages, a township to villages and grids.
    """
    result: dict[int, Unit] = {}
    for unit in units:
        rows = (
            Unit.objects.current()
            .filter(path__startswith=unit.path, depth__gt=unit.depth, depth__lte=unit.depth + depth)
            .select_related("level")
            .order_by("path")
        )
        by_path = {unit.path: unit}
        for row in rows:
            by_path[row.path] = row
            parent = by_path.get(row.parent_path)
            row.parent_name = parent.name if parent is not None and parent.pk != unit.pk else ""
            result.setdefault(row.pk, row)
    return sorted(result.values(), key=lambda u: u.path)


def departments_serving(units) -> list[Department]:
    """Departments at each unit or above it: the county's bureaus serve every township below."""
    paths = set()
    for unit in units:
        paths.update(Unit.path_prefixes(unit.path))
    return list(
        Department.objects.filter(unit__path__in=paths).select_related("unit").order_by("unit__path", "name")
    )


class DispatchTargets:
    """The units and departments a dispatcher at `units` may name, as grouped choices and a lookup."""

    def __init__(self, units):
        self.departments = departments_serving(units)
        self.units = units_below(units)
        self.lookup: dict[str, Unit | Department] = {}
        for dept in self.departments:
            self.lookup[f"d:{dept.pk}"] = dept
        for unit in self.units:
            self.lookup[f"u:{unit.pk}"] = unit

    @staticmethod
    def key(target) -> str:
        return f"d:{target.pk}" if isinstance(target, Department) else f"u:{target.pk}"

    def choices(self):
        groups = []
        if self.departments:
            groups.append(
                (
                    _("Departments"),
                    [(f"d:{d.pk}", f"{d.name} · {d.unit.name}") for d in self.departments],
                )
            )
        if self.units:
            groups.append(
                (
                    _("Units below"),
                    [
                        (f"u:{u.pk}", f"{u.parent_name} › {u.name}" if u.parent_name else u.name)
                        for u in self.units
                    ],
                )
            )
        return groups


class TargetField(forms.ChoiceField):
    """One unit or department out of a DispatchTargets; cleans to the object itself."""

    def __init__(self, *, targets: DispatchTargets | None = None, **kwargs):
        super().__init__(**kwargs)
        self.set_targets(targets)

    def set_targets(self, targets):
        self.targets = targets
        self.choices = [("", "—"), *targets.choices()] if targets else [("", "—")]

    def clean(self, value):
        value = super().clean(value)
        return self.targets.lookup[value] if value else None


class TargetsField(forms.MultipleChoiceField):
    def __init__(self, *, targets: DispatchTargets | None = None, **kwargs):
        super().__init__(**kwargs)
        self.set_targets(targets)

    def set_targets(self, targets):
        self.targets = targets
        self.choices = targets.choices() if targets else []

    def clean(self, value):
        return [self.targets.lookup[v] for v in super().clean(value)]


class CategoryField(forms.ChoiceField):
    """A 小类, offered grouped by its 大类; cleans to the Category. The form calls `load()`, so no query
    runs when the form class is defined."""

    lookup: dict[str, Category] = {}

    def load(self):
        leaves = Category.objects.filter(is_active=True, parent__isnull=False).select_related("parent")
        groups: dict[str, list] = {}
        self.lookup = {}
        for category in leaves.order_by("code"):
            groups.setdefault(str(category.parent), []).append((str(category.pk), str(category)))
            self.lookup[str(category.pk)] = category
        self.choices = [("", "—"), *groups.items()]

    def clean(self, value):
        value = super().clean(value)
        return self.lookup[value] if value else None


def category_filter_choices():
    """Codes for the queue filter: a 大类 selects all its 小类 (the filter matches by code prefix)."""
    choices = [("", _("All categories"))]
    for category in Category.objects.filter(is_active=True).order_by("code"):
        indent = "\u3000" if category.parent_id else ""
        choices.append((category.code, f"{indent}{category.code} {category.name}"))
    return choices


# ---------------------------------------------------------------------------------------------------
# Action forms

# What the buttons say: the step to take, where services.action_label names the step once taken.
ACTION_VERBS = {
    "verify": _("Verify on site"),
    "register": _("Register the case"),
    "reject": _("Do not register"),
    "handle_in_place": _("Handle in the grid"),
    "escalate": _("Escalate to the level above"),
    "dispatch": _("Dispatch"),
    "accept": _("Accept the dispatch"),
    "return_": _("Return to the dispatcher"),
    "report_back": _("Report back"),
    "submit": _("Submit the result"),
    "check_pass": _("Check on site"),
    "check_fail": _("Send back for rework"),
    "rate": _("Record the rating"),
    "reopen": _("Reopen"),
    "publish": _("Publish on the public board"),
    "hold": _("Put into long-term management"),
    "follow_up": _("Add a follow-up note"),
    "resume": _("Take out of long-term management"),
    "urge": _("Urge"),
    "request_extension": _("Request an extension"),
    "decide_extension": _("Decide on the extension"),
}


def action_verb(action: str) -> str:
    return str(ACTION_VERBS.get(action) or services.action_label(action))


class ActionForm(forms.Form):
    """One step on one case. `expected_version` makes a stale page a conflict, never a silent overwrite."""

    action = ""
    submit_label = None  # defaults to the step's own label
    button_class = "primary"

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, case: Case, user, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.action}_%s")
        kwargs.setdefault("initial", {}).setdefault("expected_version", case.version)
        super().__init__(*args, **kwargs)
        self.case, self.user = case, user

    @property
    def label(self) -> str:
        return action_verb(self.action)

    @property
    def button_label(self) -> str:
        return str(self.submit_label or self.label)

    @property
    def has_files(self) -> bool:
        return any(isinstance(f, forms.FileField) for f in self.fields.values())

    @property
    def geolocate(self) -> bool:
        return "lng" in self.fields

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Every form of a step takes that step through its service: a step form without one is a bug.
        if cls.action and not callable(getattr(cls, "perform", None)):
            raise TypeError(f"{cls.__name__} names the step {cls.action!r} but has no perform(by=…)")

    def _common(self, by):
        return {"by": by, "expected_version": self.cleaned_data["expected_version"]}


class PhotoActionForm(ActionForm):
    """A step that may carry photos, each stamped with the phone's GPS fix when it has one."""

    photo_kind = AttachmentKind.PHOTO

    photos = PhotosField()
    lng = forms.FloatField(widget=forms.HiddenInput, required=False)
    lat = forms.FloatField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        last = ["kind", "photos", "lng", "lat", "expected_version"]
        self.order_fields([name for name in self.fields if name not in last] + last)

    def photo_list(self) -> list[Photo]:
        kind = self.cleaned_data.get("kind") or self.photo_kind
        lng, lat = self.cleaned_data.get("lng"), self.cleaned_data.get("lat")
        return [Photo(f, kind=kind, lng=lng, lat=lat) for f in self.cleaned_data.get("photos", [])]


def _text(label, required=True, rows=3, help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
        max_length=4000,
    )


def _deadline_field():
    return forms.DateField(
        label=_("Deadline"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for the category's time limit; a date means the end of that day."),
    )


class VerifyForm(PhotoActionForm):
    action = "verify"
    note = _text(_("What was found on site"))

    def perform(self, *, by):
        return services.verify(
            self.case, note=self.cleaned_data["note"], photos=self.photo_list(), **self._common(by)
        )


class RegisterForm(ActionForm):
    action = "register"
    category = CategoryField(label=_("Category"))
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    petition_channel = forms.ChoiceField(
        label=_("Petition channel"),
        choices=[("", "—"), *PetitionChannel.choices],
        required=False,
        help_text=_(
            "For a petition (信访) only; left empty, it follows from the source where the source tells."
        ),
    )
    note = _text(_("Note"), required=False, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].load()
        if self.case.category_id:
            self.fields["category"].initial = str(self.case.category_id)
        self.fields["severity"].initial = self.case.severity

    def perform(self, *, by):
        data = self.cleaned_data
        return services.register(
            self.case,
            category=data["category"],
            severity=data["severity"],
            petition_channel=data["petition_channel"],
            note=data["note"],
            **self._common(by),
        )


class RejectForm(ActionForm):
    action = "reject"
    button_class = "danger"
    reason = forms.ChoiceField(label=_("Why it is not registered"), choices=RejectReason.choices)
    duplicate_of = forms.CharField(
        label=_("Duplicate of"),
        required=False,
        max_length=30,
        help_text=_("For a duplicate: the number or tracking code of the original case."),
    )
    note = _text(_("Reason"))

    def clean_duplicate_of(self):
        value = self.cleaned_data["duplicate_of"].strip()
        if not value:
            return None
        code = services.normalise_tracking_code(value)
        original = Case.objects.visible_to(self.user).filter(Q(number=value) | Q(tracking_code=code)).first()
        if original is None:
            raise ValidationError(_("No case with this number or tracking code in your area."))
        return original

    def perform(self, *, by):
        data = self.cleaned_data
        return services.reject(
            self.case,
            reason=data["reason"],
            note=data["note"],
            duplicate_of=data["duplicate_of"],
            **self._common(by),
        )


class ResultForm(PhotoActionForm):
    """A handling result; a dispute's result also says whether the mediation succeeded (CASE-13)."""

    mediation_outcome = forms.ChoiceField(
        label=_("Mediation outcome"), choices=MediationOutcome.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        category = self.case.category
        if category is None or category.group != StatisticsGroup.DISPUTE:
            del self.fields["mediation_outcome"]

    def _result(self) -> dict:
        data = self.cleaned_data
        return {
            "result": data["result"],
            "mediation_outcome": data.get("mediation_outcome", ""),
            "photos": self.photo_list(),
        }


class HandleInPlaceForm(ResultForm):
    action = "handle_in_place"
    result = _text(_("Result"), help_text=_("What was done; the case is closed at your level."))

    def perform(self, *, by):
        return services.handle_in_place(self.case, **self._result(), **self._common(by))


class EscalateForm(ActionForm):
    action = "escalate"
    reason = _text(_("Reason"), help_text=_("Why your level cannot resolve it."))

    def perform(self, *, by):
        return services.escalate(self.case, reason=self.cleaned_data["reason"], **self._common(by))


class DispatchForm(ActionForm):
    """派单/吹哨: a lead unit or department, optional co-handlers who each report back, a deadline."""

    action = "dispatch"
    lead = TargetField(label=_("Lead unit or department"))
    co_handlers = TargetsField(
        label=_("Co-handlers"),
        required=False,
        help_text=_(
            "Optional (吹哨): each reports back before the lead submits. Hold Ctrl or ⌘ to pick several."
        ),
    )
    due_at = _deadline_field()
    instructions = _text(_("Instructions"), required=False)

    def __init__(self, *args, targets: DispatchTargets | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        targets = targets or DispatchTargets([self.case.owner_unit])
        self.fields["lead"].set_targets(targets)
        self.fields["co_handlers"].set_targets(targets)
        default = services.default_department(self.case) if self.case.category_id else None
        if default is not None and DispatchTargets.key(default) in targets.lookup:
            self.fields["lead"].initial = DispatchTargets.key(default)

    def perform(self, *, by):
        data = self.cleaned_data
        return services.dispatch(
            self.case,
            lead=data["lead"],
            co_handlers=data["co_handlers"],
            due_at=end_of_day(data["due_at"]) if data["due_at"] else None,
            instructions=data["instructions"],
            **self._common(by),
        )


class AcceptForm(ActionForm):
    action = "accept"
    note = forms.CharField(label=_("Note"), required=False, max_length=500)

    def perform(self, *, by):
        return services.accept(self.case, note=self.cleaned_data["note"], **self._common(by))


class ReturnForm(ActionForm):
    action = "return_"
    button_class = "danger"
    reason = _text(_("Reason"))
    wrongly_dispatched = forms.BooleanField(
        label=_("Wrongly dispatched: not ours to handle"),
        required=False,
        initial=True,
        help_text=_("Counts against the dispatcher's accurate-dispatch rate."),
    )

    def perform(self, *, by):
        data = self.cleaned_data
        return services.return_case(
            self.case,
            reason=data["reason"],
            wrongly_dispatched=data["wrongly_dispatched"],
            **self._common(by),
        )


class ReportBackForm(PhotoActionForm):
    action = "report_back"
    note = _text(_("Report"), help_text=_("What your unit or department did for this case."))

    def perform(self, *, by):
        return services.report_back(
            self.case, note=self.cleaned_data["note"], photos=self.photo_list(), **self._common(by)
        )


class SubmitForm(ResultForm):
    action = "submit"
    result = _text(_("Result"), help_text=_("What was done; the dispatching level checks it on site."))

    def perform(self, *, by):
        return services.submit(self.case, **self._result(), **self._common(by))


class CheckForm(PhotoActionForm):
    """核查 on site: typed, GPS-stamped photos; one form, a pass and a fail button (two steps)."""

    action = "check_pass"
    passed = True
    kind = forms.ChoiceField(
        label=_("The photos show"),
        choices=[
            (AttachmentKind.BEFORE, AttachmentKind.BEFORE.label),
            (AttachmentKind.AFTER, AttachmentKind.AFTER.label),
        ],
        initial=AttachmentKind.AFTER,
        widget=forms.RadioSelect,
    )
    note = _text(_("Check note"))

    def perform(self, *, by):
        return services.check(
            self.case,
            passed=self.passed,
            note=self.cleaned_data["note"],
            photos=self.photo_list(),
            **self._common(by),
        )


class CheckFailForm(CheckForm):
    action = "check_fail"
    passed = False
    button_class = "danger"


class RateForm(ActionForm):
    action = "rate"
    rating = forms.ChoiceField(
        label=_("The reporter's rating"), choices=Rating.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def perform(self, *, by):
        data = self.cleaned_data
        return services.rate(self.case, rating=data["rating"], comment=data["comment"], **self._common(by))


class ReopenForm(ActionForm):
    action = "reopen"
    note = _text(_("Reason"))

    def perform(self, *, by):
        return services.reopen(self.case, note=self.cleaned_data["note"], **self._common(by))


class PublishForm(ActionForm):
    action = "publish"
    summary = _text(
        _("Public summary"),
        rows=4,
        help_text=_("Shown on the village's public board: no names, phone or ID numbers, no house numbers."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["summary"].initial = self.case.title

    def perform(self, *, by):
        return services.publish(self.case, summary=self.cleaned_data["summary"], **self._common(by))


class HoldForm(ActionForm):
    action = "hold"
    button_class = "danger"
    reason = _text(_("Reason"), help_text=_("Why the case cannot be resolved now; its clocks pause."))

    def perform(self, *, by):
        return services.hold(self.case, reason=self.cleaned_data["reason"], **self._common(by))


class FollowUpForm(PhotoActionForm):
    action = "follow_up"
    note = _text(_("Follow-up"))

    def perform(self, *, by):
        return services.follow_up(
            self.case, note=self.cleaned_data["note"], photos=self.photo_list(), **self._common(by)
        )


class ResumeForm(ActionForm):
    action = "resume"
    note = _text(_("Reason"))

    def perform(self, *, by):
        return services.resume(self.case, note=self.cleaned_data["note"], **self._common(by))


class UrgeForm(ActionForm):
    action = "urge"
    level = forms.ChoiceField(
        label=_("Supervision level"),
        choices=UrgeLevel.choices,
        initial=UrgeLevel.NORMAL,
        widget=forms.RadioSelect,
    )
    note = _text(_("Note"), rows=2)

    def perform(self, *, by):
        data = self.cleaned_data
        return services.urge(self.case, level=data["level"], note=data["note"], **self._common(by))


class RequestExtensionForm(ActionForm):
    action = "request_extension"
    working_days = forms.IntegerField(label=_("Extra working days"), min_value=1, max_value=60)
    reason = _text(_("Reason"))

    def perform(self, *, by):
        data = self.cleaned_data
        services.request_extension(
            self.case, working_days=data["working_days"], reason=data["reason"], **self._common(by)
        )
        return self.case


class DecideExtensionForm(ActionForm):
    action = "decide_extension"
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("refuse", _("Refuse"))],
        widget=forms.RadioSelect,
    )
    note = _text(_("Note"), required=False, rows=2, help_text=_("Required when refusing."))

    def perform(self, *, by):
        data = self.cleaned_data
        return services.decide_extension(
            self.case, approve=data["decision"] == "approve", note=data["note"], **self._common(by)
        )


ACTION_FORMS: dict[str, type[ActionForm]] = {
    form.action: form
    for form in (
        VerifyForm,
        RegisterForm,
        RejectForm,
        HandleInPlaceForm,
        EscalateForm,
        DispatchForm,
        AcceptForm,
        ReturnForm,
        ReportBackForm,
        SubmitForm,
        CheckForm,
        CheckFailForm,
        RateForm,
        ReopenForm,
        PublishForm,
        HoldForm,
        FollowUpForm,
        ResumeForm,
        UrgeForm,
        RequestExtensionForm,
        DecideExtensionForm,
    )
}


# ---------------------------------------------------------------------------------------------------
# Batch dispatch from the queue


class CaseIdsField(forms.Field):
    """The ticked rows of the queue: case ids, at least one."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"required": _("Tick at least one case.")}

    def to_python(self, value):
        if not value:
            return []
        try:
            ids = [int(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
        except (TypeError, ValueError) as exc:
            raise ValidationError(_("The selection is not a list of cases.")) from exc
        if any(not 1 <= i < 2**63 for i in ids):  # a number no database id can be
            raise ValidationError(_("The selection is not a list of cases."))
        return list(dict.fromkeys(ids))


class BatchDispatchForm(forms.Form):
    cases = CaseIdsField(label=_("Cases"))
    lead = TargetField(label=_("Lead unit or department"))
    co_handlers = TargetsField(
        label=_("Co-handlers"),
        required=False,
        help_text=_("Optional (吹哨). Hold Ctrl or ⌘ to pick several."),
    )
    due_at = _deadline_field()
    instructions = _text(_("Instructions"), required=False, rows=2)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, targets: DispatchTargets, **kwargs):
        kwargs.setdefault("auto_id", "id_batch_%s")
        super().__init__(*args, **kwargs)
        self.fields["lead"].set_targets(targets)
        self.fields["co_handlers"].set_targets(targets)

    def due(self):
        day = self.cleaned_data.get("due_at")
        return end_of_day(day) if day else None
