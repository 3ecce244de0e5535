"""The case loop's domain operations (CASE-1 … CASE-11). Views, the API, commands and tests call these.

Every step runs in one transaction: it re-reads the case under a row lock, checks the expected version
(a stale page or client gets `StaleCase`), asks the state machine whether the move exists
(`TransitionRefused`, answered 409 with the allowed steps) and the policy whether this user may make it
(`PermissionDenied`), then changes the case, appends one `CaseAction` row and notifies whoever must act
next. Nothing half-written stays behind when any check fails.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import wraps

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition
from PIL import Image, UnidentifiedImageError

from wangge.core.audit import current_request_id
from wangge.ledger.models import Household
from wangge.notices.models import NotificationKind
from wangge.notices.services import department_staff, nearest_staff, notify, unit_staff
from wangge.people.models import Department, Post
from wangge.people.roles import Capability, Role
from wangge.units.locate import locate
from wangge.units.models import Unit
from wangge.workdays.calendar import TimeUnit, add_working_duration, deadline, working_days_between

from . import admission, policy
from .choices import (
    PETITION_CHANNEL_OF_SOURCE,
    URGE_ORDER,
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
    StatisticsGroup,
    UrgeLevel,
)
from .models import (
    Assignment,
    Case,
    CaseAction,
    CaseAttachment,
    CaseSerial,
    Category,
    ExtensionRequest,
    TimeLimit,
)

TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


class TransitionRefused(Exception):
    """The case is not in a state where this step exists; carries the steps the user may take instead."""

    def __init__(self, action: str, case: Case, allowed: list[str]):
        self.action, self.case, self.allowed = action, case, allowed
        super().__init__(
            _("“%(action)s” is not possible while the case is “%(state)s”.")
            % {"action": action_label(action), "state": case.get_state_display()}
        )


class StaleCase(Exception):
    """Somebody else changed the case since the caller read it."""

    def __init__(self, case: Case):
        self.case = case
        super().__init__(_("The case was changed by someone else in the meantime; reload it and try again."))


ACTION_LABELS = {
    "verify": ActionKind.VERIFY,
    "register": ActionKind.REGISTER,
    "reject": ActionKind.REJECT,
    "handle_in_place": ActionKind.HANDLE_IN_PLACE,
    "escalate": ActionKind.ESCALATE,
    "dispatch": ActionKind.DISPATCH,
    "accept": ActionKind.ACCEPT,
    "return_": ActionKind.RETURN,
    "report_back": ActionKind.REPORT_BACK,
    "submit": ActionKind.SUBMIT,
    "check_pass": ActionKind.CHECK_PASS,
    "check_fail": ActionKind.CHECK_FAIL,
    "rate": ActionKind.RATE,
    "reopen": ActionKind.REOPEN,
    "publish": ActionKind.PUBLISH,
    "hold": ActionKind.HOLD,
    "follow_up": ActionKind.FOLLOW_UP,
    "resume": ActionKind.RESUME,
    "urge": ActionKind.URGE,
    "request_extension": ActionKind.REQUEST_EXTENSION,
    "decide_extension": ActionKind.APPROVE_EXTENSION,
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS[action].label) if action in ACTION_LABELS else action


@dataclass
class Photo:
    """An uploaded image and where it was taken (phones send their GPS fix with it)."""

    file: object
    kind: str = AttachmentKind.PHOTO
    lng: float | None = None
    lat: float | None = None
    extension: str = "jpg"  # set from the decoded format by validate_photos


# ---------------------------------------------------------------------------------------------------
# Levels and deadlines


def level_of_unit(unit: Unit) -> str:
    """The handling level a unit acts at, for time limits and CASE-6 statistics."""
    level = unit.level
    if level.is_grid:
        return HandlerLevel.GRID
    return {1: HandlerLevel.COUNTY, 2: HandlerLevel.TOWNSHIP, 3: HandlerLevel.VILLAGE}.get(
        level.rank, HandlerLevel.COUNTY if level.rank < 1 else HandlerLevel.VILLAGE
    )


def time_limit(category: Category | None, stage: str, level: str) -> TimeLimit | None:
    """The limit for a stage at a level: the 小类's own, else its 大类's, else the deployment default."""
    candidates = []
    if category is not None:
        candidates.append(category.pk)
        if category.parent_id:
            candidates.append(category.parent_id)
    limits = {
        lim.category_id: lim
        for lim in TimeLimit.objects.filter(stage=stage, handler_level=level).filter(
            Q(category__in=candidates) | Q(category__isnull=True)
        )
    }
    for key in [*candidates, None]:
        if key in limits:
            return limits[key]
    return None


def stage_deadline(category, stage: str, level: str, start: datetime) -> datetime | None:
    limit = time_limit(category, stage, level)
    return deadline(start, limit.value, limit.unit) if limit else None


def due_soon_threshold(now: datetime) -> datetime:
    """A deadline before this instant is 临期 (yellow): within one working day, or the configured span."""
    return add_working_duration(now, float(getattr(settings, "WANGGE_DUE_SOON_WORKING_DAYS", 1)))


def deadline_status(case: Case, now: datetime | None = None) -> str:
    """green / yellow (due soon) / red (overdue) for the current stage; empty when no clock runs."""
    if (
        case.state
        not in (
            CaseState.REPORTED,
            CaseState.VERIFIED,
            CaseState.REGISTERED,
            CaseState.DISPATCHED,
            CaseState.HANDLING,
            CaseState.SUBMITTED,
        )
        or not case.stage_due_at
    ):
        return ""
    now = now or timezone.now()
    if case.stage_due_at < now:
        return "red"
    if case.stage_due_at <= due_soon_threshold(now):
        return "yellow"
    return "green"


# ---------------------------------------------------------------------------------------------------
# Input checks


def validate_photos(photos: Sequence[Photo], field: str = "photos", max_count: int | None = None) -> None:
    """Images only, within the size, pixel and count limits; the decoded format decides the extension."""
    limit = settings.WANGGE_MAX_UPLOAD_BYTES
    max_count = settings.WANGGE_MAX_PHOTOS_PER_STEP if max_count is None else max_count
    if len(photos) > max_count:
        raise ValidationError({field: _("Attach at most %(n)d photos.") % {"n": max_count}})
    for photo in photos:
        f = photo.file
        size = getattr(f, "size", None) or 0
        if size > limit:
            raise ValidationError(
                {
                    field: _("%(name)s is larger than %(mb)d MB.")
                    % {"name": getattr(f, "name", ""), "mb": limit // 2**20}
                }
            )
        try:
            f.seek(0)
            with Image.open(f) as img:
                fmt, pixels = img.format, img.width * img.height
                img.verify()
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
            raise ValidationError(
                {field: _("%(name)s is not an image (JPEG, PNG or WebP).") % {"name": getattr(f, "name", "")}}
            ) from exc
        if fmt not in IMAGE_FORMATS:
            raise ValidationError(
                {
                    field: _("%(name)s is a %(format)s image; only JPEG, PNG and WebP are accepted.")
                    % {"name": getattr(f, "name", ""), "format": fmt}
                }
            )
        if pixels > settings.WANGGE_MAX_IMAGE_PIXELS:
            raise ValidationError(
                {
                    field: _("%(name)s has too many pixels (%(mp)d megapixels at most).")
                    % {"name": getattr(f, "name", ""), "mp": settings.WANGGE_MAX_IMAGE_PIXELS // 10**6}
                }
            )
        f.seek(0)
        photo.extension = IMAGE_FORMATS[fmt]
        if photo.kind not in AttachmentKind.values:
            raise ValidationError({field: _("Unknown photo kind “%(kind)s”.") % {"kind": photo.kind}})
        _check_point(photo.lng, photo.lat, field)


def _check_point(lng, lat, field="location"):
    if (lng is None) != (lat is None):
        raise ValidationError({field: _("Give both longitude and latitude, or neither.")})
    if lng is not None and not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise ValidationError({field: _("Longitude must be within ±180 and latitude within ±90 degrees.")})


def _require_text(value: str, field: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: _("%(field)s is required.") % {"field": label}})
    return value


# Files a step wrote, so they can be removed when its transaction rolls back (the database forgets the
# rows, the storage would keep the files).
_written_files: ContextVar[list | None] = ContextVar("wangge_case_written_files", default=None)


def _removes_files_on_error(step):
    @wraps(step)
    def wrapper(*args, **kwargs):
        if _written_files.get() is not None:  # a step inside another one (report_case → register)
            return step(*args, **kwargs)
        written: list = []
        token = _written_files.set(written)
        try:
            return step(*args, **kwargs)
        except BaseException:
            for storage, name in written:
                storage.delete(name)
            raise
        finally:
            _written_files.reset(token)

    return wrapper


def _save_photos(case: Case, action: CaseAction, photos: Sequence[Photo], by) -> None:
    for photo in photos:
        attachment = CaseAttachment(
            case=case,
            action=action,
            kind=photo.kind,
            lng=photo.lng,
            lat=photo.lat,
            uploaded_by=by if by is not None and by.is_authenticated else None,
            size=getattr(photo.file, "size", 0) or 0,
        )
        attachment.image_extension = getattr(photo, "extension", "jpg")
        attachment.image.save("upload", photo.file, save=False)
        attachment.save()
        written = _written_files.get()
        if written is not None:
            written.append((attachment.image.storage, attachment.image.name))


# ---------------------------------------------------------------------------------------------------
# Recording


def _acting_post(user, unit: Unit | None = None, department: Department | None = None) -> Post | None:
    """The post a user acts through: for a department's work that department's post, else the deepest
    post above the unit, else their highest post."""
    if user is None or not user.is_authenticated:
        return None
    posts = list(user.active_posts())
    if department is not None:
        for post in posts:
            if post.department_id == department.pk:
                return post
    if unit is not None:
        above = [p for p in posts if unit.path.startswith(p.unit.path) and p.role != Role.DEPARTMENT_USER]
        if above:
            return max(above, key=lambda p: p.unit.depth)
    return min(posts, key=lambda p: p.unit.depth) if posts else None


def _record(
    case: Case,
    kind: str,
    by,
    from_state: str,
    note: str = "",
    data: dict | None = None,
    photos: Sequence[Photo] = (),
    unit: Unit | None = None,
    department: Department | None = None,
    actor_label: str = "",
    now: datetime | None = None,
) -> CaseAction:
    post = _acting_post(by, unit or case.owner_unit, department)
    action = CaseAction.objects.create(
        case=case,
        kind=kind,
        time=now or timezone.now(),
        actor=by if by is not None and by.is_authenticated else None,
        actor_label=actor_label,
        actor_role=post.role if post else "",
        actor_unit=post.unit if post else None,
        actor_department=post.department if post and post.department_id else None,
        from_state=from_state,
        to_state=case.state,
        note=note,
        data=data or {},
        request_id=current_request_id(),
    )
    if photos:
        _save_photos(case, action, photos, by)
    return action


def _lock(case: Case | int, action: str, by, expected_version: int | None, check_policy: bool = True) -> Case:
    """Re-read the case under a row lock and check that `action` may happen now, by `by`."""
    pk = case.pk if isinstance(case, Case) else case
    # Lock the bare row first, then read it with its relations. Locking through the joins would let
    # PostgreSQL's recheck of a concurrently updated row drop it (its lead assignment changed), so the
    # waiting step would see no case at all instead of the new state.
    Case.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True).get()
    fresh = Case.objects.select_related(
        "owner_unit__level", "unit__level", "category__parent", "lead_assignment", "dispatched_from"
    ).get(pk=pk)
    if expected_version is not None and fresh.version != expected_version:
        raise StaleCase(fresh)
    if not policy.state_allows(fresh, action):
        raise TransitionRefused(action, fresh, policy.allowed_actions(by, fresh) if by is not None else [])
    if check_policy and not policy.RULES[action](by, fresh):
        raise PermissionDenied(
            _("You may not take the step “%(action)s” on this case.") % {"action": action_label(action)}
        )
    return fresh


def _save(case: Case) -> None:
    case.version = F("version") + 1
    try:
        case.save()
    except ConcurrentTransition as exc:
        raise StaleCase(case) from exc
    case.refresh_from_db(fields=["version"])


def _lapse_pending_extensions(case: Case, now: datetime) -> None:
    """A request nobody decided lapses when the case leaves the requester's hands."""
    case.extensions.filter(status=ExtensionStatus.PENDING).update(
        status=ExtensionStatus.WITHDRAWN, decided_at=now
    )


def _move_open_assignment_deadlines(case: Case) -> None:
    case.assignments.filter(status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]).update(
        due_at=case.due_at
    )


def _case_url(case: Case) -> str:
    return reverse("cases:detail", args=[case.pk])


def notify_case(users, kind, case: Case, body: str = "") -> None:
    title = f"{NotificationKind(kind).label}: {case.display_number} {case.title}"
    notify(users, kind, title, body=body, url=_case_url(case), case=case)


def _assignment_staff(assignment: Assignment | None):
    if assignment is None:
        return []
    if assignment.department_id:
        return department_staff(assignment.department)
    return nearest_staff(assignment.unit, Capability.HANDLE_CASES)


# ---------------------------------------------------------------------------------------------------
# Numbers and codes


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


def normalise_tracking_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def next_case_number(unit: Unit, when: datetime) -> str:
    """County code + local date + 5-digit serial, e.g. 500229 20261121 00007; must run in a transaction."""
    prefix = unit.code[:6]
    day = timezone.localdate(when)
    for _attempt in range(3):
        updated = CaseSerial.objects.filter(prefix=prefix, day=day).update(last=F("last") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    CaseSerial.objects.create(prefix=prefix, day=day, last=1)
            except IntegrityError:
                continue  # another transaction created the row first: increment it instead
        serial = CaseSerial.objects.get(prefix=prefix, day=day).last
        return f"{prefix}{day:%Y%m%d}{serial:05d}"
    raise RuntimeError("could not allocate a case number")


# ---------------------------------------------------------------------------------------------------
# 1. Reporting


def resolve_location(
    *,
    lng=None,
    lat=None,
    unit: Unit | None = None,
    fallback_unit: Unit | None = None,
    attach_to_fallback=False,
) -> Unit:
    """The unit a report belongs to: the smallest unit containing the point, else the one given."""
    _check_point(lng, lat)
    if lng is not None:
        found = locate(lng, lat)
        if found is not None:
            return found
        if attach_to_fallback and (unit or fallback_unit):
            return unit or fallback_unit
        raise ValidationError(
            {
                "location": _(
                    "The point (%(lng).5f, %(lat).5f) is outside every grid. Check the GPS fix, or choose "
                    "to attach the report to your own unit."
                )
                % {"lng": lng, "lat": lat}
            }
        )
    if unit is not None:
        return unit
    if fallback_unit is not None and attach_to_fallback:
        return fallback_unit
    raise ValidationError({"location": _("Give the place: a GPS point, or the grid it happened in.")})


def check_point_inside(unit: Unit, lng: float | None, lat: float | None) -> None:
    """A resident's report made through one unit's page (its QR code hangs there) must lie inside it."""
    if lng is None or lat is None:
        return
    _check_point(lng, lat)
    found = locate(lng, lat)
    if found is None or not found.path.startswith(unit.path):
        raise ValidationError(
            {
                "location": _(
                    "The location you shared (%(lng).5f, %(lat).5f) is not inside %(unit)s. Remove it and "
                    "describe the address instead, or use the QR code of the place where the problem is."
                )
                % {"lng": lng, "lat": lat, "unit": unit.name}
            }
        )


@_removes_files_on_error
def report_case(
    *,
    reporter,
    source: str,
    description: str,
    title: str = "",
    category: Category | None = None,
    severity: str | None = None,
    lng: float | None = None,
    lat: float | None = None,
    address: str = "",
    unit: Unit | None = None,
    attach_to_own_unit: bool = False,
    client_uuid=None,
    households: Iterable = (),
    photos: Sequence[Photo] = (),
    reporter_name: str = "",
    register_now: bool = False,
    petition_channel: str = "",
    now: datetime | None = None,
) -> tuple[Case, bool]:
    """采集/上报 (CASE-1, CASE-5). Returns (case, created); a repeated client id returns the first case."""
    if client_uuid is not None:
        existing = Case.objects.filter(uuid=client_uuid).first()
        if existing is not None:
            if reporter is not None and existing.reporter_id not in (None, reporter.pk):
                raise ValidationError({"uuid": _("This client id belongs to another user's report.")})
            return existing, False
    if source not in Source.values:
        raise ValidationError({"source": _("Unknown source “%(source)s”.") % {"source": source}})
    is_staff = reporter is not None and reporter.is_authenticated
    if is_staff and not reporter.has_capability(Capability.REPORT_CASES):
        raise PermissionDenied(_("Your posts do not allow reporting cases."))
    if not is_staff and source != Source.RESIDENT:
        raise ValidationError({"source": _("Reports without an account are resident reports.")})
    description = _require_text(description, "description", _("Description"))
    if category is not None and not category.is_leaf:
        raise ValidationError({"category": _("Choose a subcategory, not a top category.")})
    if category is not None and not category.is_active:
        raise ValidationError({"category": _("This category is no longer in use.")})
    if severity is not None and severity not in Severity.values:
        raise ValidationError({"severity": _("Unknown severity “%(value)s”.") % {"value": severity}})
    validate_photos(photos, max_count=None if is_staff else settings.WANGGE_MAX_PUBLIC_PHOTOS)
    own_unit = reporter.primary_unit() if is_staff else None
    where = resolve_location(
        lng=lng, lat=lat, unit=unit, fallback_unit=own_unit, attach_to_fallback=attach_to_own_unit
    )
    now = now or timezone.now()
    households = list(households)
    if households:
        wanted = {h.pk for h in households}
        visible = (
            Household.objects.visible_to(reporter).filter(pk__in=wanted)
            if is_staff
            else Household.objects.none()
        )
        if set(visible.values_list("pk", flat=True)) != wanted:
            raise ValidationError({"households": _("Only households of your own grids can be named.")})
    title = (title or "").strip() or description.splitlines()[0][:40]
    try:
        with transaction.atomic():
            case = Case(
                uuid=client_uuid or Case._meta.get_field("uuid").default(),
                tracking_code=new_tracking_code(),
                title=title[:100],
                description=description,
                category=category,
                severity=severity or (category.default_severity if category else Severity.GENERAL),
                source=source,
                unit=where,
                owner_unit=where,
                lng=lng,
                lat=lat,
                address=address.strip(),
                reporter=reporter if is_staff else None,
                reporter_name=reporter_name.strip()[:50],
            )
            case.stage = Stage.DISPATCH
            case.stage_due_at = stage_deadline(category, Stage.DISPATCH, level_of_unit(where), now)
            case.save()
            if households:
                case.households.set(households)
            _record(
                case,
                ActionKind.REPORT,
                reporter,
                "",
                photos=photos,
                unit=where,
                actor_label="" if is_staff else (reporter_name or _("Resident")),
                now=now,
                data={"source": source},
            )
            if register_now and is_staff and policy.may(reporter, case, "register"):
                case = register(case, by=reporter, petition_channel=petition_channel, now=now)
            else:  # found outside the reporter's own grids, or a report to verify: the grid's staff act
                notify_case(nearest_staff(where, Capability.HANDLE_CASES), NotificationKind.REPORTED, case)
    except IntegrityError:
        existing = Case.objects.filter(uuid=client_uuid).first() if client_uuid else None
        if existing is None:
            raise
        return existing, False  # the same client id raced us: the other request made it
    return case, True


# ---------------------------------------------------------------------------------------------------
# 2. Verification, registration, rejection


@_removes_files_on_error
def verify(case, *, by, note: str, photos: Sequence[Photo] = (), expected_version=None, now=None) -> Case:
    """核实: the grid worker confirms a resident's or hotline report on site."""
    note = _require_text(note, "note", _("What was found on site"))
    validate_photos(photos)
    with transaction.atomic():
        case = _lock(case, "verify", by, expected_version)
        before = case.state
        case.verify()
        _save(case)
        _record(case, ActionKind.VERIFY, by, before, note=note, photos=photos, now=now)
    return case


def register(
    case,
    *,
    by,
    category: Category | None = None,
    severity: str | None = None,
    petition_channel: str = "",
    note: str = "",
    expected_version=None,
    now=None,
) -> Case:
    """立案: the case gets its number and its clock starts (CASE-2, CASE-7)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "register", by, expected_version)
        category = category or case.category
        if category is None:
            raise ValidationError({"category": _("Choose the case's category before registering it.")})
        if not category.is_leaf:
            raise ValidationError({"category": _("Choose a subcategory, not a top category.")})
        if severity is not None and severity not in Severity.values:
            raise ValidationError({"severity": _("Unknown severity “%(value)s”.") % {"value": severity}})
        before = case.state
        case.category = category
        case.petition_channel = _petition_channel(category, case.source, petition_channel)
        if severity:
            case.severity = severity
        case.register()
        case.registered_at = now
        case.number = next_case_number(case.unit, now)
        _start_owner_clock(case, now)
        _save(case)
        _record(
            case,
            ActionKind.REGISTER,
            by,
            before,
            note=note,
            now=now,
            data={
                "number": case.number,
                "category": category.code,
                **_nonempty(petition_channel=case.petition_channel),
            },
        )
    return case


def _nonempty(**values) -> dict:
    return {key: value for key, value in values.items() if value}


def _petition_channel(category: Category, source: str, channel: str) -> str:
    """信访形式 (CASE-14): a petition's channel, given or told by its source; nothing for other cases."""
    if channel and channel not in PetitionChannel.values:
        raise ValidationError(
            {"petition_channel": _("Unknown petition channel “%(value)s”.") % {"value": channel}}
        )
    if category.group != StatisticsGroup.PETITION:
        if channel:
            raise ValidationError(
                {
                    "petition_channel": _(
                        "Only a petition (信访) records the channel it came by; this category is not one."
                    )
                }
            )
        return ""
    channel = channel or PETITION_CHANNEL_OF_SOURCE.get(source, "")
    if not channel:
        raise ValidationError(
            {
                "petition_channel": _(
                    "Say how this petition was received (online, letter, in person or by phone): its source "
                    "“%(source)s” does not tell."
                )
                % {"source": Source(source).label}
            }
        )
    return channel


def _mediation_outcome(case: Case, outcome: str) -> str:
    """调解结果 (CASE-13): required with a dispute's result, refused for any other case."""
    if outcome and outcome not in MediationOutcome.values:
        raise ValidationError(
            {"mediation_outcome": _("Unknown mediation outcome “%(value)s”.") % {"value": outcome}}
        )
    is_dispute = case.category is not None and case.category.group == StatisticsGroup.DISPUTE
    if is_dispute and not outcome:
        raise ValidationError(
            {"mediation_outcome": _("A dispute's result says whether the mediation succeeded or failed.")}
        )
    if outcome and not is_dispute:
        raise ValidationError(
            {"mediation_outcome": _("Only a dispute (矛盾纠纷) records a mediation outcome.")}
        )
    return outcome


def _start_owner_clock(case: Case, now: datetime, keep_kpi: bool = False) -> None:
    """The owner level's clock: grids and villages handle, townships and the county screen and dispatch."""
    level = level_of_unit(case.owner_unit)
    case.due_at = stage_deadline(case.category, Stage.HANDLING, level, now)
    if not (keep_kpi and case.kpi_due_at):
        case.kpi_due_at = case.due_at
    case.overdue_at = None
    case.due_soon_notified_at = None
    if level in (HandlerLevel.GRID, HandlerLevel.VILLAGE):
        case.stage, case.stage_due_at = Stage.HANDLING, case.due_at
    else:
        case.stage = Stage.DISPATCH
        case.stage_due_at = stage_deadline(case.category, Stage.DISPATCH, level, now) or case.due_at


def reject(
    case, *, by, reason: str, note: str, duplicate_of: Case | None = None, expected_version=None, now=None
) -> Case:
    """不予立案: not a case, a duplicate (linked to the original) or outside our remit, with the reason."""
    if reason not in RejectReason.values:
        raise ValidationError({"reason": _("Choose why the case is not registered.")})
    note = _require_text(note, "note", _("Reason"))
    with transaction.atomic():
        case = _lock(case, "reject", by, expected_version)
        if reason == RejectReason.DUPLICATE:
            if duplicate_of is None:
                raise ValidationError({"duplicate_of": _("Name the case this one duplicates.")})
            if duplicate_of.pk == case.pk:
                raise ValidationError({"duplicate_of": _("A case cannot duplicate itself.")})
            if not Case.objects.visible_to(by).filter(pk=duplicate_of.pk).exists():
                raise ValidationError({"duplicate_of": _("No such case in your area.")})
        elif duplicate_of is not None:
            raise ValidationError({"duplicate_of": _("Only a duplicate links to another case.")})
        before = case.state
        case.reject()
        case.reject_reason = reason
        case.duplicate_of = duplicate_of if reason == RejectReason.DUPLICATE else None
        case.closed_at = now or timezone.now()
        case.stage_due_at = None
        _save(case)
        _record(
            case,
            ActionKind.REJECT,
            by,
            before,
            note=note,
            now=now,
            data={"reason": reason, "duplicate_of": duplicate_of.pk if duplicate_of else None},
        )
    return case


# ---------------------------------------------------------------------------------------------------
# 3–4. Handling in place, escalation


@_removes_files_on_error
def handle_in_place(
    case,
    *,
    by,
    result: str,
    mediation_outcome: str = "",
    photos: Sequence[Photo] = (),
    expected_version=None,
    now=None,
) -> Case:
    """小事不出网格: the owning level records the result itself and the case is closed (CASE-6)."""
    result = _require_text(result, "result", _("Result"))
    validate_photos(photos)
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "handle_in_place", by, expected_version)
        before = case.state
        case.handle_in_place()
        case.result = result
        case.mediation_outcome = _mediation_outcome(case, mediation_outcome)
        case.resolved_level = level_of_unit(case.owner_unit)
        case.resolved_in_place = True
        _close(case, now)
        _save(case)
        _record(
            case,
            ActionKind.HANDLE_IN_PLACE,
            by,
            before,
            note=result,
            photos=photos,
            now=now,
            data=_nonempty(mediation_outcome=case.mediation_outcome),
        )
    return case


def _close(case: Case, now: datetime) -> None:
    case.closed_at = now
    case.stage_due_at = None
    case.urge_level = ""


def escalate(case, *, by, reason: str, expected_version=None, now=None, system=False) -> Case:
    """上报: to the next level up, with the reason; the new level's clock starts (CASE-6)."""
    reason = _require_text(reason, "reason", _("Reason"))
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "escalate", by, expected_version, check_policy=not system)
        parent = case.owner_unit.parent_unit()
        if parent is None:
            raise ValidationError(
                {
                    "reason": _("%(unit)s is the top level; there is nobody to escalate to.")
                    % {"unit": case.owner_unit.name}
                }
            )
        before, from_unit = case.state, case.owner_unit
        case.escalate()
        case.owner_unit = parent
        case.escalation_count += 1
        _start_owner_clock(case, now)
        _save(case)
        _record(
            case,
            ActionKind.ESCALATE,
            by,
            before,
            note=reason,
            unit=from_unit,
            now=now,
            actor_label=_("System") if system else "",
            data={"from_unit": from_unit.code, "to_unit": parent.code, "automatic": system},
        )
        desk = (
            Capability.DISPATCH_CASES
            if level_of_unit(parent) in (HandlerLevel.TOWNSHIP, HandlerLevel.COUNTY)
            else Capability.HANDLE_CASES
        )
        notify_case(
            unit_staff(parent, desk) or nearest_staff(parent, Capability.HANDLE_CASES),
            NotificationKind.ESCALATED,
            case,
            reason,
        )
    return case


# ---------------------------------------------------------------------------------------------------
# 5. Dispatch, acceptance, return


def _resolve_target(target) -> tuple[Unit | None, Department | None]:
    if isinstance(target, Department):
        return None, target
    if isinstance(target, Unit):
        return target, None
    raise ValidationError({"lead": _("Dispatch to a unit or a department.")})


def default_department(case: Case) -> Department | None:
    """The category's usual department, looked up by name among the departments above the case."""
    name = case.category.default_department if case.category else ""
    if not name:
        return None
    return (
        Department.objects.filter(unit__path__in=Unit.path_prefixes(case.unit.path), name=name)
        .order_by("-unit__depth")
        .first()
    )


def dispatch(
    case,
    *,
    by,
    lead,
    co_handlers: Sequence = (),
    due_at: datetime | None = None,
    instructions: str = "",
    expected_version=None,
    now=None,
) -> Case:
    """派单 / 吹哨: to a unit or department with a deadline; co-handlers each report back (CASE-8, CASE-9)."""
    now = now or timezone.now()
    lead_unit, lead_dept = _resolve_target(lead)
    targets = [(lead_unit, lead_dept)] + [_resolve_target(t) for t in co_handlers]
    keys = [(u.pk if u else None, d.pk if d else None) for u, d in targets]
    if len(set(keys)) != len(keys):
        raise ValidationError({"co_handlers": _("Each unit or department can be named only once.")})
    with transaction.atomic():
        case = _lock(case, "dispatch", by, expected_version)
        # The level that dispatches owns the case from now on: a township taking a grid's case takes it
        # over (上级交办), so returns, extensions and the check come back to the township.
        post = _acting_post(by, case.owner_unit)
        dispatcher_unit = (
            post.unit
            if post is not None and case.owner_unit.path.startswith(post.unit.path)
            else case.owner_unit
        )
        for unit, dept in targets:
            where = unit or dept.unit
            if unit is not None and not policy.covers(by, unit):
                raise ValidationError({"lead": _("%(unit)s is outside your area.") % {"unit": unit.name}})
            if dept is not None and not (
                dispatcher_unit.path.startswith(where.path) or where.path.startswith(dispatcher_unit.path)
            ):
                raise ValidationError(
                    {
                        "lead": _("%(dept)s does not serve %(unit)s.")
                        % {"dept": dept.name, "unit": dispatcher_unit.name}
                    }
                )
        admission.check_dispatch(case, targets)  # 准入事项清单: grids take on admitted task types only
        level = HandlerLevel.DEPARTMENT if lead_dept else level_of_unit(lead_unit)
        if due_at is None:
            due_at = stage_deadline(case.category, Stage.HANDLING, level, now)
        elif due_at <= now:
            raise ValidationError({"due_at": _("The deadline must lie in the future.")})
        before = case.state
        case.dispatch()
        case.assignments.filter(status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]).update(
            status=AssignmentStatus.WITHDRAWN, finished_at=now
        )
        _lapse_pending_extensions(case, now)
        created = []
        for index, (unit, dept) in enumerate(targets):
            created.append(
                Assignment.objects.create(
                    case=case,
                    unit=unit,
                    department=dept,
                    is_lead=index == 0,
                    dispatched_from=dispatcher_unit,
                    dispatched_by=by,
                    dispatched_at=now,
                    due_at=due_at,
                    instructions=instructions.strip(),
                )
            )
        taken_over_from = case.owner_unit if case.owner_unit != dispatcher_unit else None
        case.owner_unit = dispatcher_unit
        case.lead_assignment = created[0]
        case.dispatched_from = dispatcher_unit
        # KPIs count against the first dispatch's deadline: a redispatch after a wrong one never moves it
        # later (the lost time counts), though a tighter new deadline does apply.
        if case.dispatch_count == 0 or case.kpi_due_at is None:
            case.kpi_due_at = due_at
        elif due_at is not None:
            case.kpi_due_at = min(case.kpi_due_at, due_at)
        case.dispatch_count += 1
        case.due_at = due_at
        case.urge_level = ""  # a new handler starts without the last one's card
        case.stage, case.stage_due_at = Stage.HANDLING, due_at
        case.overdue_at = case.due_soon_notified_at = None
        _save(case)
        _record(
            case,
            ActionKind.DISPATCH,
            by,
            before,
            note=instructions,
            now=now,
            data={
                "lead": str(created[0].assignee),
                "co_handlers": [str(a.assignee) for a in created[1:]],
                "due_at": due_at.isoformat() if due_at else None,
                **({"taken_over_from": taken_over_from.code} if taken_over_from else {}),
            },
        )
        for assignment in created:
            notify_case(_assignment_staff(assignment), NotificationKind.DISPATCHED, case, instructions)
    return case


def accept(case, *, by, note: str = "", expected_version=None, now=None) -> Case:
    """接单 (CASE-11)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "accept", by, expected_version)
        before = case.state
        case.accept()
        Assignment.objects.filter(pk=case.lead_assignment_id).update(
            status=AssignmentStatus.ACCEPTED, accepted_at=now
        )
        case.assignments.filter(is_lead=False, status=AssignmentStatus.PENDING).update(
            status=AssignmentStatus.ACCEPTED, accepted_at=now
        )
        _save(case)
        lead = case.lead_assignment
        _record(
            case,
            ActionKind.ACCEPT,
            by,
            before,
            note=note,
            unit=lead.unit,
            department=lead.department,
            now=now,
        )
    return case


def return_case(
    case, *, by, reason: str, wrongly_dispatched: bool = True, expected_version=None, now=None
) -> Case:
    """退回: back to the dispatcher's queue with the reason; a wrong dispatch counts against 准确派遣率."""
    reason = _require_text(reason, "reason", _("Reason"))
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "return_", by, expected_version)
        before, lead = case.state, case.lead_assignment
        case.return_()
        Assignment.objects.filter(pk=lead.pk).update(
            status=AssignmentStatus.RETURNED, finished_at=now, report=reason
        )
        case.assignments.filter(status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]).update(
            status=AssignmentStatus.WITHDRAWN, finished_at=now
        )  # the co-handlers did not return it: their part simply ends with the lead's
        case.owner_unit = case.dispatched_from
        case.lead_assignment = None
        case.return_count += 1
        if wrongly_dispatched:
            case.wrong_dispatch_count += 1
        case.stage = Stage.DISPATCH
        case.stage_due_at = stage_deadline(case.category, Stage.DISPATCH, level_of_unit(case.owner_unit), now)
        case.overdue_at = case.due_soon_notified_at = None
        _lapse_pending_extensions(case, now)
        _save(case)
        _record(
            case,
            ActionKind.RETURN,
            by,
            before,
            note=reason,
            unit=lead.unit,
            department=lead.department,
            now=now,
            data={"wrongly_dispatched": wrongly_dispatched},
        )
        notify_case(
            unit_staff(case.owner_unit, Capability.DISPATCH_CASES), NotificationKind.RETURNED, case, reason
        )
    return case


# ---------------------------------------------------------------------------------------------------
# 6. Handling


@_removes_files_on_error
def report_back(
    case, *, by, note: str, photos: Sequence[Photo] = (), expected_version=None, now=None
) -> Case:
    """部门报到: a co-handler of a 吹哨 dispatch reports what it did (CASE-9)."""
    note = _require_text(note, "note", _("Report"))
    validate_photos(photos)
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "report_back", by, expected_version)
        mine = policy.open_co_assignments(case, by)
        assignment = mine[0]
        Assignment.objects.filter(pk=assignment.pk).update(
            status=AssignmentStatus.REPORTED_BACK, finished_at=now, report=note
        )
        before = case.state
        case.report_back()
        _save(case)
        _record(
            case,
            ActionKind.REPORT_BACK,
            by,
            before,
            note=note,
            photos=photos,
            unit=assignment.unit,
            department=assignment.department,
            now=now,
            data={"assignee": str(assignment.assignee)},
        )
        notify_case(_assignment_staff(case.lead_assignment), NotificationKind.SUBMITTED, case, note)
    return case


@_removes_files_on_error
def submit(
    case,
    *,
    by,
    result: str,
    mediation_outcome: str = "",
    photos: Sequence[Photo] = (),
    expected_version=None,
    now=None,
) -> Case:
    """办结: the lead handler submits the result; the check stage's clock starts."""
    result = _require_text(result, "result", _("Result"))
    validate_photos(photos)
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "submit", by, expected_version)
        waiting = policy.open_co_assignments(case)
        if waiting:
            raise ValidationError(
                {
                    "result": _("Co-handlers have not reported back yet: %(names)s.")
                    % {"names": "、".join(str(a.assignee) for a in waiting)}
                }
            )
        before, lead = case.state, case.lead_assignment
        case.submit()
        case.result = result
        case.mediation_outcome = _mediation_outcome(case, mediation_outcome)
        _lapse_pending_extensions(case, now)
        Assignment.objects.filter(pk=lead.pk).update(
            status=AssignmentStatus.DONE, finished_at=now, report=result
        )
        case.stage = Stage.VERIFICATION
        case.stage_due_at = stage_deadline(
            case.category, Stage.VERIFICATION, level_of_unit(case.dispatched_from), now
        )
        case.overdue_at = case.due_soon_notified_at = None
        _save(case)
        _record(
            case,
            ActionKind.SUBMIT,
            by,
            before,
            note=result,
            photos=photos,
            unit=lead.unit,
            department=lead.department,
            now=now,
            data=_nonempty(mediation_outcome=case.mediation_outcome),
        )
        checkers = unit_staff(case.dispatched_from, Capability.HANDLE_CASES)
        if case.reporter_id:
            checkers.append(case.reporter)
        notify_case(checkers, NotificationKind.SUBMITTED, case, result)
    return case


# ---------------------------------------------------------------------------------------------------
# 7. Check


@_removes_files_on_error
def check(
    case, *, by, passed: bool, note: str, photos: Sequence[Photo] = (), expected_version=None, now=None
) -> Case:
    """核查: on site, with typed and GPS-stamped photos; passed closes (销号), failed sends back (返工)."""
    note = _require_text(note, "note", _("Check note"))
    validate_photos(photos)
    now = now or timezone.now()
    action = "check_pass" if passed else "check_fail"
    with transaction.atomic():
        case = _lock(case, action, by, expected_version)
        before = case.state
        if passed:
            case.check_pass()
            case.resolved_level = level_of_unit(case.owner_unit)
            _close(case, now)
            case.assignments.filter(status=AssignmentStatus.REPORTED_BACK).update(
                status=AssignmentStatus.DONE
            )
        else:
            case.check_fail()
            case.rework_count += 1
            Assignment.objects.filter(pk=case.lead_assignment_id).update(
                status=AssignmentStatus.ACCEPTED, finished_at=None
            )
            case.stage, case.stage_due_at = Stage.HANDLING, case.due_at
            case.overdue_at = case.due_soon_notified_at = None
        _save(case)
        _record(
            case,
            ActionKind.CHECK_PASS if passed else ActionKind.CHECK_FAIL,
            by,
            before,
            note=note,
            photos=photos,
            unit=case.dispatched_from,
            now=now,
        )
        if not passed:
            notify_case(_assignment_staff(case.lead_assignment), NotificationKind.CHECK_FAILED, case, note)
    return case


# ---------------------------------------------------------------------------------------------------
# 8. Feedback, reopening, publication


def rate(case, *, by=None, rating: str, comment: str = "", expected_version=None, now=None) -> Case:
    """回访评价: by staff after a return visit, or by the resident on the tracking page (by=None)."""
    if rating not in Rating.values:
        raise ValidationError({"rating": _("Choose satisfied, basically satisfied or unsatisfied.")})
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "rate", by, expected_version, check_policy=by is not None)
        before = case.state
        case.rate()
        case.rating, case.rating_comment, case.rated_at = rating, comment.strip()[:500], now
        _save(case)
        _record(
            case,
            ActionKind.RATE,
            by,
            before,
            note=case.rating_comment,
            now=now,
            actor_label="" if by is not None else (case.reporter_name or _("Resident")),
            data={"rating": rating},
        )
        if rating == Rating.UNSATISFIED:
            # Only a dispatcher may reopen: the owning level's, or the nearest one above a grid or village.
            notify_case(
                nearest_staff(case.owner_unit, Capability.DISPATCH_CASES),
                NotificationKind.REOPENED,
                case,
                case.rating_comment,
            )
    return case


def reopen(case, *, by, note: str, expected_version=None, now=None) -> Case:
    """An unsatisfied rating lets the dispatcher reopen the case: back to its queue, a new clock."""
    note = _require_text(note, "note", _("Reason"))
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "reopen", by, expected_version)
        before = case.state
        case.reopen()
        case.reopen_count += 1
        case.closed_at = None
        case.rating = ""
        case.rating_comment = ""
        case.rated_at = None
        case.resolved_level = ""
        case.resolved_in_place = False
        case.published_at = None
        case.lead_assignment = None
        _start_owner_clock(case, now, keep_kpi=True)
        _save(case)
        _record(case, ActionKind.REOPEN, by, before, note=note, now=now)
    return case


def publish(case, *, by, summary: str, expected_version=None, now=None) -> Case:
    """Put a closed case's result on the village's public board, in words with no personal data."""
    summary = _require_text(summary, "summary", _("Public summary"))
    from .redact import find_personal_data

    found = find_personal_data(summary)
    if found:
        raise ValidationError(
            {"summary": _("Remove personal data before publishing: %(items)s") % {"items": ", ".join(found)}}
        )
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "publish", by, expected_version)
        before = case.state
        case.publish()
        case.published_at, case.public_summary = now, summary
        _save(case)
        _record(case, ActionKind.PUBLISH, by, before, note=summary, now=now)
    return case


# ---------------------------------------------------------------------------------------------------
# 9. Long-term management


def hold(case, *, by, reason: str, expected_version=None, now=None) -> Case:
    """长期管理/挂起: a historic, hard case leaves the normal flow; its clocks pause (CASE-10)."""
    reason = _require_text(reason, "reason", _("Reason"))
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "hold", by, expected_version)
        before = case.state
        case.held_from_state = before
        case.hold()
        case.paused_at = now
        _lapse_pending_extensions(case, now)
        _save(case)
        _record(case, ActionKind.HOLD, by, before, note=reason, now=now)
    return case


@_removes_files_on_error
def follow_up(case, *, by, note: str, photos: Sequence[Photo] = (), expected_version=None, now=None) -> Case:
    note = _require_text(note, "note", _("Follow-up"))
    validate_photos(photos)
    with transaction.atomic():
        case = _lock(case, "follow_up", by, expected_version)
        case.follow_up()
        _save(case)
        _record(case, ActionKind.FOLLOW_UP, by, case.state, note=note, photos=photos, now=now)
    return case


def _shift(due: datetime | None, paused_at: datetime, now: datetime) -> datetime | None:
    """Move a deadline by the working time the clock stood still, whether or not it had passed."""
    if due is None:
        return None
    return add_working_duration(due, working_days_between(paused_at, now))


def resume(case, *, by, note: str, expected_version=None, now=None) -> Case:
    note = _require_text(note, "note", _("Reason"))
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "resume", by, expected_version)
        before, paused_at = case.state, case.paused_at
        case.resume()
        case.due_at = _shift(case.due_at, paused_at, now)
        case.kpi_due_at = _shift(case.kpi_due_at, paused_at, now)
        case.stage_due_at = _shift(case.stage_due_at, paused_at, now)
        case.paused_at, case.held_from_state = None, ""
        case.due_soon_notified_at = None
        if case.stage_due_at and case.stage_due_at > now:
            case.overdue_at = None
        _move_open_assignment_deadlines(case)
        _save(case)
        _record(
            case,
            ActionKind.RESUME,
            by,
            before,
            note=note,
            now=now,
            data={"paused_working_days": round(working_days_between(paused_at, now), 2)},
        )
    return case


# ---------------------------------------------------------------------------------------------------
# 10. Supervision, extensions


def responsible_staff(case: Case):
    if case.state in (CaseState.DISPATCHED, CaseState.HANDLING) and case.lead_assignment_id:
        return _assignment_staff(case.lead_assignment)
    if case.state == CaseState.SUBMITTED and case.dispatched_from_id:
        return unit_staff(case.dispatched_from, Capability.HANDLE_CASES)
    return nearest_staff(case.owner_unit, Capability.HANDLE_CASES)


def urge(case, *, by, level: str, note: str, expected_version=None, now=None, system=False) -> Case:
    """督办/催办 (普通, 黄牌, 红牌): the handler is notified at once; the highest level stays on the case."""
    if level not in UrgeLevel.values:
        raise ValidationError({"level": _("Choose reminder, yellow card or red card.")})
    note = _require_text(note, "note", _("Note"))
    with transaction.atomic():
        case = _lock(case, "urge", by, expected_version, check_policy=not system)
        before = case.state
        case.urge()
        if URGE_ORDER[level] > URGE_ORDER[case.urge_level]:
            case.urge_level = level
        _save(case)
        _record(
            case,
            ActionKind.URGE,
            by,
            before,
            note=note,
            now=now,
            data={"level": level, "automatic": system},
            actor_label=_("System") if system else "",
        )
        notify_case(responsible_staff(case), NotificationKind.URGED, case, note)
    return case


def request_extension(
    case, *, by, working_days: int, reason: str, expected_version=None, now=None
) -> ExtensionRequest:
    reason = _require_text(reason, "reason", _("Reason"))
    try:
        working_days = int(working_days)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            {"working_days": _("Give the extra time as a whole number of working days.")}
        ) from exc
    if not 1 <= working_days <= 60:
        raise ValidationError({"working_days": _("An extension is between 1 and 60 working days.")})
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "request_extension", by, expected_version)
        before = case.state
        case.request_extension()
        extension = ExtensionRequest.objects.create(
            case=case, requested_by=by, requested_at=now, working_days=working_days, reason=reason
        )
        _save(case)
        _record(
            case,
            ActionKind.REQUEST_EXTENSION,
            by,
            before,
            note=reason,
            now=now,
            data={"working_days": working_days},
        )
        notify_case(
            unit_staff(case.dispatched_from, Capability.DISPATCH_CASES),
            NotificationKind.EXTENSION,
            case,
            reason,
        )
    return extension


def decide_extension(case, *, by, approve: bool, note: str = "", expected_version=None, now=None) -> Case:
    """The dispatcher approves (the deadline moves; the KPI deadline stays) or refuses the pending request."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, "decide_extension", by, expected_version)
        extension = case.extensions.select_for_update().get(status=ExtensionStatus.PENDING)
        if not approve:
            note = _require_text(note, "note", _("Reason"))
        before = case.state
        case.decide_extension()
        extension.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
        extension.decided_by, extension.decided_at, extension.decision_note = by, now, note
        extension.save()
        if approve:
            base = max(case.due_at or now, now)
            case.due_at = deadline(base, Decimal(extension.working_days), TimeUnit.WORKING_DAYS)
            if case.stage == Stage.HANDLING:
                case.stage_due_at = case.due_at
                case.overdue_at = case.due_soon_notified_at = None
            case.extension_count += 1
            _move_open_assignment_deadlines(case)
        _save(case)
        _record(
            case,
            ActionKind.APPROVE_EXTENSION if approve else ActionKind.REFUSE_EXTENSION,
            by,
            before,
            note=note,
            now=now,
            data={
                "working_days": extension.working_days,
                "due_at": case.due_at.isoformat() if case.due_at else None,
            },
        )
        notify(
            [extension.requested_by],
            NotificationKind.EXTENSION,
            f"{NotificationKind.EXTENSION.label}: {case.display_number} "
            f"{ExtensionStatus(extension.status).label}",
            body=note,
            url=_case_url(case),
            case=case,
        )
    return case
