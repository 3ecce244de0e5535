"""The grid staff's domain operations: AB岗 cover (TEAM-3), the emergency reserve (TEAM-4), staff photos,
and what the public notice board shows (TEAM-6).

Writes — pair_posts, end_pair, record_absence, cancel_absence, add/update/remove_reserve_member,
set_photo, remove_photo — need Capability.MANAGE_STAFF through a post whose subtree holds the unit
(`scope.paths_for`), run in one transaction and write the change log. A refused write raises
ValidationError naming the field and the rule, or PermissionDenied.

How cover works: an absence copies the B of the pair in force as its `cover`. For the days of the absence,
`core.scope.scope_for` adds the A post's (role, unit) to the cover's scope, so the cover sees and acts on
A's cases and ledgers; `notices.services.notify` sends the cover a copy of everything addressed to A.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.core.scope import scope_for
from wangge.units.models import Unit

from .models import (
    Absence,
    AbsenceReason,
    CoverPair,
    Post,
    ReserveKind,
    ReserveMember,
    User,
)
from .roles import GRID_ROLES, Capability, Role

VILLAGE_RANK = 3  # 村/社区 (二级网格 in seed 001's numbering): AB pairs stay inside one
ONE_DAY = datetime.timedelta(days=1)
PHOTO_MAX_PX = 600  # staff photos are portraits on a notice board: stored re-encoded, at most this size

# What the notice board lists, in this order: 1 grid leader, n grid workers, then the N forces.
BOARD_ROLES = (
    Role.GRID_LEADER,
    Role.DEPUTY_GRID_LEADER,
    Role.GRID_WORKER_FULL_TIME,
    Role.GRID_WORKER_PART_TIME,
    Role.GRID_INSTRUCTOR,
    Role.LIAISON_CADRE,
    Role.LAW_ENFORCEMENT,
    Role.COMPOUND_HEAD,
)
LEADER_ROLES = (Role.GRID_LEADER, Role.DEPUTY_GRID_LEADER)
WORKER_ROLES = (Role.GRID_WORKER_FULL_TIME, Role.GRID_WORKER_PART_TIME)
GUIDE_ROLES = (Role.GRID_INSTRUCTOR, Role.LIAISON_CADRE)
FORCE_ROLES = (Role.LAW_ENFORCEMENT, Role.COMPOUND_HEAD)

# Shown on the board when a post has no duties of its own (seed 003: 宣传员、信息员、调解员、服务员).
DEFAULT_DUTIES = {
    Role.GRID_LEADER: gettext_lazy(
        "Leads the grid: organises patrols and household visits, sees that every problem found is handled."
    ),
    Role.DEPUTY_GRID_LEADER: gettext_lazy("Assists the grid leader and stands in for them."),
    Role.GRID_WORKER_FULL_TIME: gettext_lazy(
        "Visits households, keeps their information up to date, finds and reports problems, mediates "
        "disputes, explains policies and helps residents with their errands."
    ),
    Role.GRID_WORKER_PART_TIME: gettext_lazy(
        "Visits households, finds and reports problems, mediates disputes, explains policies and helps "
        "residents with their errands."
    ),
    Role.GRID_INSTRUCTOR: gettext_lazy("Guides the grid's work and trains its staff."),
    Role.LIAISON_CADRE: gettext_lazy(
        "The cadre in charge of this village: takes up what the grid cannot solve on its own."
    ),
    Role.LAW_ENFORCEMENT: gettext_lazy("Handles the law-enforcement matters the grid reports."),
    Role.COMPOUND_HEAD: gettext_lazy("Looks after the residential compound and passes on residents' needs."),
}
# 服务什么: one line for the household contact card (INFO-4).
B_DUTIES = gettext_lazy("Covers the grid's posts when their holders are away (AB岗).")
SERVICES_LINE = gettext_lazy(
    "Your grid staff visit your household, keep its information, take your problems and requests, "
    "mediate disputes, explain policies and help with errands. Call them, or scan the code to report."
)


# --- permissions ------------------------------------------------------------------------------------------


def can_manage_staff(user, unit) -> bool:
    """Whether `user` keeps the staff of `unit`: MANAGE_STAFF through a post at the unit or above it."""
    if user is None or not user.is_authenticated:
        return False
    return scope_for(user).grants(Capability.MANAGE_STAFF, unit.path)


def can_unmask_reserve(user, unit: Unit) -> bool:
    """Whether `user` may see the reserve's phone numbers of `unit` unmasked (each look is logged by the
    caller): VIEW_PERSONAL_DATA through a post at the unit or above it."""
    return scope_for(user).grants(Capability.VIEW_PERSONAL_DATA, unit.path)


def _require_manager(by, unit) -> None:
    if not can_manage_staff(by, unit):
        raise PermissionDenied(_("You do not keep the staff of %(unit)s.") % {"unit": unit.name})


def village_of(unit: Unit) -> Unit:
    """The village or community (rank 3) at or above `unit`; the unit itself above that rank or when the
    scheme has no such level above it."""
    if unit.level.rank <= VILLAGE_RANK:
        return unit
    found = (
        Unit.objects.filter(path__in=Unit.path_prefixes(unit.path), level__rank=VILLAGE_RANK)
        .select_related("level")
        .first()
    )
    return found or unit


def _holds_post_in(user, unit: Unit, on: datetime.date) -> bool:
    return (
        Post.objects.active(on)
        .filter(user=user, unit__path__startswith=unit.path)
        .exclude(role=Role.DEPARTMENT_USER)
        .exists()
    )


def _post_active(post: Post, on: datetime.date) -> bool:
    return post.start_date <= on and (post.end_date is None or post.end_date >= on)


def _person(user) -> str:
    return user.get_full_name() if user is not None else ""


# --- AB pairs -----------------------------------------------------------------------------------------------


def check_pair(
    a_post: Post, b_user: User, start: datetime.date, end: datetime.date | None = None
) -> list[CoverPair]:
    """The rules of a new pair; returns the open pair it replaces (ended the day before `start`)."""
    if a_post.role not in GRID_ROLES:
        raise ValidationError({"a_post": _("Only grid posts (grid leaders and grid workers) have a B.")})
    if end is not None and end < start:
        raise ValidationError({"end_date": _("The pair cannot end before it starts.")})
    if not _post_active(a_post, start):
        raise ValidationError(
            {"start_date": _("The A post is not held on %(date)s.") % {"date": start.isoformat()}}
        )
    if b_user.pk == a_post.user_id:
        raise ValidationError({"b_user": _("The holder of a post cannot be its own B.")})
    village = village_of(a_post.unit)
    if not b_user.is_active or not _holds_post_in(b_user, village, start):
        raise ValidationError(
            {
                "b_user": _("%(name)s holds no post in %(village)s: a B is a colleague of the same village.")
                % {"name": _person(b_user), "village": village.name}
            }
        )
    overlapping = list(
        CoverPair.objects.filter(a_post=a_post)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
        .filter(start_date__lte=end or datetime.date.max)
        .select_related("b_user")
    )
    replaced = [p for p in overlapping if p.end_date is None and p.start_date < start]
    clashing = [p for p in overlapping if p not in replaced]
    if clashing:
        raise ValidationError(
            {
                "start_date": _("The post already has %(name)s as its B from %(date)s: end that pair first.")
                % {"name": _person(clashing[0].b_user), "date": clashing[0].start_date.isoformat()}
            }
        )
    return replaced


def pair_posts(
    a_post: Post, b_user: User, *, by, start: datetime.date | None = None, end: datetime.date | None = None
) -> CoverPair:
    """AB岗: make `b_user` the B of `a_post` from `start` (today by default). An open pair of the same
    post that began earlier ends the day before: a new B replaces the old one."""
    start = start or timezone.localdate()
    _require_manager(by, a_post.unit)
    with transaction.atomic():
        Post.objects.select_for_update().filter(pk=a_post.pk).values_list("pk", flat=True).get()
        replaced = check_pair(a_post, b_user, start, end)
        for old in replaced:
            before = snapshot(old, ["end_date"])
            old.end_date = start - ONE_DAY
            old.save(update_fields=["end_date", "updated_at"])
            record_change(
                old,
                ChangeAction.UPDATE,
                by,
                diff(before, snapshot(old, ["end_date"])),
                acting_unit=a_post.unit,
            )
        pair = CoverPair.objects.create(a_post=a_post, b_user=b_user, start_date=start, end_date=end)
        record_change(pair, ChangeAction.CREATE, by, {"after": snapshot(pair)}, acting_unit=a_post.unit)
    return pair


def end_pair(pair: CoverPair, *, by, end: datetime.date | None = None) -> CoverPair:
    """The pair holds until `end` (today by default). Absences already recorded keep their cover."""
    end = end or timezone.localdate()
    _require_manager(by, pair.a_post.unit)
    with transaction.atomic():
        pair = (
            CoverPair.objects.select_for_update(of=("self",)).select_related("a_post__unit").get(pk=pair.pk)
        )
        if end < pair.start_date:
            raise ValidationError(
                {
                    "end_date": _("The pair starts on %(date)s: it cannot end before that.")
                    % {"date": pair.start_date.isoformat()}
                }
            )
        if pair.end_date is not None and end > pair.end_date:
            raise ValidationError(
                {"end_date": _("The pair already ends on %(date)s.") % {"date": pair.end_date.isoformat()}}
            )
        before = snapshot(pair, ["end_date"])
        pair.end_date = end
        pair.save(update_fields=["end_date", "updated_at"])
        record_change(
            pair,
            ChangeAction.UPDATE,
            by,
            diff(before, snapshot(pair, ["end_date"])),
            acting_unit=pair.a_post.unit,
        )
    return pair


# --- absences -----------------------------------------------------------------------------------------------


def check_absence(post: Post, start: datetime.date, end: datetime.date, reason: str) -> CoverPair:
    """The rules of a new absence; returns the pair whose B will cover it."""
    if reason not in AbsenceReason.values:
        raise ValidationError({"reason": _("Choose leave, sick leave, training or other.")})
    if end < start:
        raise ValidationError({"end": _("The last day away comes before the first.")})
    if not _post_active(post, start):
        raise ValidationError({"post": _("The post is not held on %(date)s.") % {"date": start.isoformat()}})
    pair = CoverPair.objects.active(start).filter(a_post=post).select_related("b_user").first()
    if pair is None:
        raise ValidationError(
            {
                "post": _("This post has no B on %(date)s: pair it with a colleague first.")
                % {"date": start.isoformat()}
            }
        )
    holder, cover = post.user, pair.b_user
    same_post = Absence.objects.overlapping(start, end).filter(post=post).order_by("start").first()
    if same_post is not None:
        raise ValidationError(
            {
                "start": _("%(name)s is already recorded away from this post from %(start)s to %(end)s.")
                % {
                    "name": _person(holder),
                    "start": same_post.start.isoformat(),
                    "end": same_post.end.isoformat(),
                }
            }
        )
    if Absence.objects.overlapping(start, end).filter(post__user=cover).exists():
        raise ValidationError(
            {
                "cover": _("The B, %(name)s, is away on some of these days: nobody would cover.")
                % {"name": _person(cover)}
            }
        )
    if Absence.objects.overlapping(start, end).filter(cover=holder).exists():
        raise ValidationError(
            {
                "start": _("%(name)s covers a colleague's post on some of these days: change that first.")
                % {"name": _person(holder)}
            }
        )
    village = village_of(post.unit)
    if not cover.is_active or not _holds_post_in(cover, village, start):
        raise ValidationError(
            {
                "cover": _("The B, %(name)s, no longer holds a post in %(village)s: pair the post anew.")
                % {"name": _person(cover), "village": village.name}
            }
        )
    return pair


def record_absence(
    post: Post, *, by, start: datetime.date, end: datetime.date, reason: str, note: str = ""
) -> Absence:
    """A is away from `post` from `start` to `end` (both included); the post's B covers those days."""
    _require_manager(by, post.unit)
    with transaction.atomic():
        # One writer per post at a time, so two overlapping absences cannot both pass the check.
        Post.objects.select_for_update().filter(pk=post.pk).values_list("pk", flat=True).get()
        pair = check_absence(post, start, end, reason)
        absence = Absence.objects.create(
            post=post,
            start=start,
            end=end,
            reason=reason,
            note=(note or "").strip(),
            cover=pair.b_user,
            pair=pair,
            recorded_by=by if by is not None and by.is_authenticated else None,
        )
        record_change(absence, ChangeAction.CREATE, by, {"after": snapshot(absence)}, acting_unit=post.unit)
    return absence


def cancel_absence(absence: Absence, *, by, on: datetime.date | None = None) -> Absence:
    """Call an absence off. One not yet begun (or beginning today) is cancelled; one under way ends
    yesterday, since A is back today and the days away stay in the history; a past one cannot change."""
    today = on or timezone.localdate()
    _require_manager(by, absence.post.unit)
    with transaction.atomic():
        absence = (
            Absence.objects.select_for_update(of=("self",)).select_related("post__unit").get(pk=absence.pk)
        )
        if absence.is_cancelled:
            raise ValidationError({"end": _("This absence is already cancelled.")})
        if absence.end < today:
            raise ValidationError({"end": _("This absence is over: it stays in the history as it was.")})
        before = snapshot(absence, ["end", "cancelled_at", "cancelled_by"])
        if absence.start >= today:
            absence.cancelled_at = timezone.now()
            absence.cancelled_by = by if by is not None and by.is_authenticated else None
        else:
            absence.end = today - ONE_DAY
        absence.save(update_fields=["end", "cancelled_at", "cancelled_by", "updated_at"])
        changes = diff(before, snapshot(absence, ["end", "cancelled_at", "cancelled_by"]))
        record_change(absence, ChangeAction.UPDATE, by, changes, acting_unit=absence.post.unit)
    return absence


def covering(user, on: datetime.date | None = None) -> list[Post]:
    """The A posts `user` covers on `on` (today by default), each with its `absence` attached."""
    on = on or timezone.localdate()
    if user is None or not user.is_authenticated:
        return []
    rows = (
        Absence.objects.on(on)
        .filter(cover=user, post__start_date__lte=on)
        .filter(Q(post__end_date__isnull=True) | Q(post__end_date__gte=on))
        .select_related("post__unit", "post__user")
        .order_by("post__unit__path", "post_id")
    )
    posts = []
    for absence in rows:
        post = absence.post
        post.absence = absence
        posts.append(post)
    return posts


def away_cover(user_ids, on: datetime.date | None = None) -> dict[int, User]:
    """{id of a user away on `on`: the user covering for them}, for the given users, in one query. A
    user away from several posts at once is covered, here, by the cover of the absence recorded first."""
    on = on or timezone.localdate()
    ids = list(user_ids)
    if not ids:
        return {}
    rows = (
        Absence.objects.on(on)
        .filter(post__user_id__in=ids, post__start_date__lte=on)
        .filter(Q(post__end_date__isnull=True) | Q(post__end_date__gte=on))
        .select_related("cover", "post")
        .order_by("created_at", "id")
    )
    result: dict[int, User] = {}
    for absence in rows:
        result.setdefault(absence.post.user_id, absence.cover)
    return result


def cover_actions(absence: Absence):
    """What the cover did on A's cases while A was away: their case actions on those days (local dates),
    on cases that happened under A's post unit."""
    from wangge.cases.models import CaseAction  # cases depends on people, not the other way round

    tz = timezone.get_current_timezone()
    since = datetime.datetime.combine(absence.start, datetime.time.min, tzinfo=tz)
    until = datetime.datetime.combine(absence.end + ONE_DAY, datetime.time.min, tzinfo=tz)
    return (
        CaseAction.objects.filter(
            actor_id=absence.cover_id,
            time__gte=since,
            time__lt=until,
            case__unit__path__startswith=absence.post.unit.path,
        )
        .select_related("case")
        .order_by("time", "id")
    )


# --- supervision phone ----------------------------------------------------------------------------------------


def supervision_phones(units) -> dict[int, str]:
    """{unit id: its 监督电话, or its nearest ancestor's}, for many units in one query."""
    units = list(units)
    prefixes = {prefix for unit in units for prefix in Unit.path_prefixes(unit.path)}
    phones = dict(
        Unit.objects.filter(path__in=prefixes)
        .exclude(supervision_phone="")
        .values_list("path", "supervision_phone")
    )
    result = {}
    for unit in units:
        result[unit.pk] = next(
            (phones[p] for p in reversed(Unit.path_prefixes(unit.path)) if p in phones), ""
        )
    return result


def supervision_phone(unit: Unit) -> str:
    return supervision_phones([unit])[unit.pk]


# --- staff photos ---------------------------------------------------------------------------------------------


def can_edit_staff(by, user) -> bool:
    """A person edits their own photo; system administrators and whoever keeps the staff of one of the
    person's units edit it too."""
    if by is None or not by.is_authenticated:
        return False
    if by.pk == user.pk or by.has_capability(Capability.CONFIGURE):
        return True
    return any(can_manage_staff(by, post.unit) for post in user.active_posts())


def check_photo(upload, field: str = "photo") -> None:
    """The cases app's rules for uploaded images: size, real image, JPEG/PNG/WebP, pixel count."""
    from wangge.cases.services import Photo, validate_photos  # loads Pillow: only photo uploads need it

    validate_photos([Photo(upload)], field=field, max_count=1)


def _portrait(upload) -> ContentFile:
    """The photo re-encoded as a JPEG of at most PHOTO_MAX_PX: no metadata (GPS), a small file."""
    from PIL import Image, ImageOps

    upload.seek(0)
    with Image.open(upload) as img:
        img = ImageOps.exif_transpose(img)
        img.thumbnail((PHOTO_MAX_PX, PHOTO_MAX_PX))
        out = io.BytesIO()
        img.convert("RGB").save(out, format="JPEG", quality=85)
    return ContentFile(out.getvalue())


def set_photo(user: User, upload, *, by) -> User:
    """Put `upload` on `user`'s notice-board photo, replacing the old one."""
    if not can_edit_staff(by, user):
        raise PermissionDenied(_("You may not change this person's photo."))
    check_photo(upload)
    content = _portrait(upload)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        old = user.photo.name
        user.photo_extension = "jpg"
        user.photo.save("photo.jpg", content, save=False)
        user.save(update_fields=["photo"])
        record_change(user, ChangeAction.UPDATE, by, {"photo": [old, user.photo.name]})
        if old:
            storage = user.photo.storage
            transaction.on_commit(lambda: storage.delete(old))
    return user


def remove_photo(user: User, *, by) -> User:
    if not can_edit_staff(by, user):
        raise PermissionDenied(_("You may not change this person's photo."))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        old = user.photo.name
        if not old:
            return user
        user.photo = ""
        user.save(update_fields=["photo"])
        record_change(user, ChangeAction.UPDATE, by, {"photo": [old, ""]})
        storage = user.photo.storage
        transaction.on_commit(lambda: storage.delete(old))
    return user


# --- the public notice board -------------------------------------------------------------------------------


@dataclass
class BoardEntry:
    """One person on a grid's notice board."""

    user: User
    role: str
    role_label: str
    title: str
    unit: Unit | None
    duties: str
    b_user: User | None = None  # this post is an A post, and this is its B
    covers_for: list[User] = field(default_factory=list)  # the A holders of the grid this person is B of
    away_until: datetime.date | None = None
    covered_by: User | None = None
    photo_uri: str = ""  # the photo inlined, for the PDF

    @property
    def name(self) -> str:
        return self.user.get_full_name()

    @property
    def initials(self) -> str:
        return self.name[:1]

    @property
    def phone(self) -> str:
        return self.user.phone

    @property
    def is_a(self) -> bool:
        return self.b_user is not None

    @property
    def is_b(self) -> bool:
        return bool(self.covers_for)


@dataclass
class Board:
    unit: Unit
    chain: list[Unit]  # from the village down to the unit
    leaders: list[BoardEntry] = field(default_factory=list)
    workers: list[BoardEntry] = field(default_factory=list)
    guides: list[BoardEntry] = field(default_factory=list)
    forces: list[BoardEntry] = field(default_factory=list)
    supervision_phone: str = ""

    @property
    def entries(self) -> list[BoardEntry]:
        return [*self.leaders, *self.workers, *self.guides, *self.forces]

    def shows(self, user_id: int) -> bool:
        return any(entry.user.pk == user_id for entry in self.entries)


def board_chain(unit: Unit) -> list[Unit]:
    """The units above `unit` whose staff serve its residents too: from its village down to itself."""
    return list(
        Unit.objects.filter(path__in=Unit.path_prefixes(unit.path), level__rank__gte=VILLAGE_RANK)
        .select_related("level")
        .order_by("depth")
    )


def build_board(unit: Unit, on: datetime.date | None = None) -> Board:
    """The staff serving `unit`'s residents — posts at the unit, below it, and above it up to its
    village — with A/B marked (a B from a neighbouring grid is listed too), who is away today and who
    covers. Five queries whatever the size of the grid."""
    on = on or timezone.localdate()
    chain = board_chain(unit)
    board = Board(unit=unit, chain=chain, supervision_phone=supervision_phone(unit))
    posts = list(
        Post.objects.active(on)
        .filter(Q(unit__in=chain) | Q(unit__path__startswith=unit.path))
        .filter(Q(unit__effective_to__isnull=True) | Q(unit__effective_to__gt=on))
        .filter(role__in=BOARD_ROLES, user__is_active=True)
        .select_related("user", "unit")
    )
    order = {role: i for i, role in enumerate(BOARD_ROLES)}
    posts.sort(key=lambda p: (order[p.role], p.unit.path, p.user.get_full_name(), p.pk))
    pairs = {
        pair.a_post_id: pair
        for pair in CoverPair.objects.active(on)
        .filter(a_post__in=[p.pk for p in posts if p.role in GRID_ROLES], b_user__is_active=True)
        .select_related("b_user")
    }
    away = {
        absence.post_id: absence
        for absence in Absence.objects.on(on).filter(post__in=[p.pk for p in posts]).select_related("cover")
    }
    sections = {
        **dict.fromkeys(LEADER_ROLES, board.leaders),
        **dict.fromkeys(WORKER_ROLES, board.workers),
        **dict.fromkeys(GUIDE_ROLES, board.guides),
        **dict.fromkeys(FORCE_ROLES, board.forces),
    }
    by_user: dict[int, BoardEntry] = {}
    for post in posts:
        pair, absence = pairs.get(post.pk), away.get(post.pk)
        entry = BoardEntry(
            user=post.user,
            role=post.role,
            role_label=post.get_role_display(),
            title=post.title,
            unit=post.unit,
            duties=post.duties or str(DEFAULT_DUTIES.get(post.role, "")),
            b_user=pair.b_user if pair else None,
            away_until=absence.end if absence else None,
            covered_by=absence.cover if absence else None,
        )
        sections[post.role].append(entry)
        by_user.setdefault(post.user_id, entry)
    for post in posts:
        pair = pairs.get(post.pk)
        if pair is None:
            continue
        entry = by_user.get(pair.b_user_id)
        if entry is None:  # a B from a neighbouring grid of the village
            entry = BoardEntry(
                user=pair.b_user,
                role="",
                role_label=str(ReserveKind.B_POST.label),
                title="",
                unit=None,
                duties=str(B_DUTIES),
            )
            board.workers.append(entry)
            by_user[pair.b_user_id] = entry
        entry.covers_for.append(post.user)
    return board


# --- emergency reserve --------------------------------------------------------------------------------------

MEMBER_FIELDS = ("name", "kind", "phone", "user", "resident", "skills", "available", "notes")


def _clean_member(unit: Unit, by, values: dict, instance: ReserveMember | None = None) -> dict:
    from wangge.ledger.models import Resident
    from wangge.ledger.services import phone_and_index

    if not unit.is_current:
        raise ValidationError({"unit": _("%(unit)s is no longer in force.") % {"unit": unit.name}})
    kind = values.get("kind") or ""
    if kind not in ReserveKind.values:
        raise ValidationError({"kind": _("Choose where the member comes from.")})
    user, resident = values.get("user"), values.get("resident")
    if resident is not None and not Resident.objects.visible_to(by).filter(pk=resident.pk).exists():
        raise ValidationError({"resident": _("This resident is not in your ledgers.")})
    if kind == ReserveKind.B_POST and user is None:
        raise ValidationError({"user": _("A B-post member is a member of staff: choose their account.")})
    name = (values.get("name") or "").strip()
    if not name:
        name = user.get_full_name() if user is not None else (resident.name if resident is not None else "")
    if not name:
        raise ValidationError({"name": _("Give the member's name.")})
    phone = (values.get("phone") or "").strip()
    if not phone:
        phone = (user.phone if user is not None else "") or (resident.phone if resident is not None else "")
    if not phone:
        raise ValidationError({"phone": _("A reserve member is called by phone: give a number.")})
    phone, index = phone_and_index(phone)
    others = ReserveMember.objects.filter(unit=unit).exclude(pk=instance.pk if instance else None)
    if user is not None and others.filter(user=user).exists():
        raise ValidationError({"user": _("%(name)s is already in this reserve.") % {"name": name}})
    if resident is not None and others.filter(resident=resident).exists():
        raise ValidationError({"resident": _("%(name)s is already in this reserve.") % {"name": name}})
    skills = (values.get("skills") or "").strip()
    if len(skills) > 200:
        raise ValidationError({"skills": _("Keep the skills under 200 characters.")})
    return {
        "name": name[:64],
        "kind": kind,
        "phone": phone,
        "phone_index": index,
        "user": user,
        "resident": resident,
        "skills": skills,
        "available": bool(values.get("available", True)),
        "notes": (values.get("notes") or "").strip(),
    }


def check_reserve_member(unit: Unit, by, values: dict, instance: ReserveMember | None = None) -> None:
    _clean_member(unit, by, values, instance)


def add_reserve_member(unit: Unit, *, by, **values) -> ReserveMember:
    """Put someone in `unit`'s emergency reserve. Name and phone default to the staff account's or the
    ledger resident's."""
    unknown = set(values) - set(MEMBER_FIELDS)
    if unknown:
        raise TypeError(f"add_reserve_member() got unexpected fields: {', '.join(sorted(unknown))}")
    _require_manager(by, unit)
    with transaction.atomic():
        Unit.objects.select_for_update().filter(pk=unit.pk).values_list("pk", flat=True).get()
        cleaned = _clean_member(unit, by, values)
        member = ReserveMember.objects.create(unit=unit, **cleaned)
        record_change(member, ChangeAction.CREATE, by, {"after": snapshot(member)}, acting_unit=unit)
    return member


def update_reserve_member(member: ReserveMember, *, by, **values) -> ReserveMember:
    unknown = set(values) - set(MEMBER_FIELDS)
    if unknown:
        raise TypeError(f"update_reserve_member() got unexpected fields: {', '.join(sorted(unknown))}")
    _require_manager(by, member.unit)
    with transaction.atomic():
        # Lock the bare row: PostgreSQL locks no nullable side of an outer join (user, resident).
        ReserveMember.objects.select_for_update().filter(pk=member.pk).values_list("pk", flat=True).get()
        member = ReserveMember.objects.select_related("unit", "user", "resident").get(pk=member.pk)
        current = {name: getattr(member, name) for name in MEMBER_FIELDS}
        cleaned = _clean_member(member.unit, by, {**current, **values}, instance=member)
        fields = [*MEMBER_FIELDS, "phone_index"]
        before = snapshot(member, fields)
        for name, value in cleaned.items():
            setattr(member, name, value)
        member.save()
        changes = diff(before, snapshot(member, fields))
        if changes:
            record_change(member, ChangeAction.UPDATE, by, changes, acting_unit=member.unit)
    return member


def remove_reserve_member(member: ReserveMember, *, by) -> None:
    _require_manager(by, member.unit)
    with transaction.atomic():
        record_change(member, ChangeAction.DELETE, by, {"before": snapshot(member)}, acting_unit=member.unit)
        member.delete()


@dataclass
class ReserveFigures:
    total: int
    ready: int
    by_kind: list[tuple[str, str, int, int]]  # (kind, label, members, ready)


def reserve_figures(unit: Unit) -> ReserveFigures:
    """Members of `unit`'s own reserve by kind, with how many are ready; one query."""
    rows = {
        kind: (n, ready)
        for kind, n, ready in ReserveMember.objects.filter(unit=unit)
        .values("kind")
        .annotate(n=Count("id"), ready=Count("id", filter=Q(available=True)))
        .values_list("kind", "n", "ready")
    }
    by_kind = [(kind, str(label), *rows.get(kind, (0, 0))) for kind, label in ReserveKind.choices]
    return ReserveFigures(
        total=sum(n for _, _, n, _ in by_kind), ready=sum(r for _, _, _, r in by_kind), by_kind=by_kind
    )


@dataclass
class BCandidate:
    user: User
    covers: list[Post] = field(default_factory=list)


def b_candidates(unit: Unit, on: datetime.date | None = None) -> list[BCandidate]:
    """The B posts of `unit`'s subtree — the B of every pair in force whose A post lies under it — not yet
    in the unit's reserve (seed 002: the reserve draws first on the B posts)."""
    on = on or timezone.localdate()
    members = ReserveMember.objects.filter(unit=unit, user__isnull=False).values("user_id")
    pairs = (
        CoverPair.objects.active(on)
        .filter(a_post__unit__path__startswith=unit.path, b_user__is_active=True)
        .exclude(b_user_id__in=members)
        .select_related("b_user", "a_post__unit", "a_post__user")
        .order_by("b_user__full_name", "b_user_id", "a_post__unit__path")
    )
    found: dict[int, BCandidate] = {}
    for pair in pairs:
        found.setdefault(pair.b_user_id, BCandidate(pair.b_user)).covers.append(pair.a_post)
    return list(found.values())


def resident_candidates(unit: Unit, by, on: datetime.date | None = None):
    """Ledger residents of `unit`'s subtree the reserve could draw on — Party members, veterans and
    new-employment workers — who hold no post in the unit and are not in its reserve yet. A queryset of
    residents in `by`'s ledger scope, annotated with `is_party`, `is_veteran`; no personal numbers."""
    from wangge.core.pii import blind_index, normalise_phone
    from wangge.ledger.choices import PARTY_STATUSES, ResidentStatus
    from wangge.ledger.models import Resident
    from wangge.ledger.services import PHONE_INDEX_KIND

    on = on or timezone.localdate()
    staff = list(
        User.objects.filter(posts__in=Post.objects.active(on).filter(unit__path__startswith=unit.path))
        .values_list("full_name", "phone")
        .distinct()
    )
    staff_names = {name for name, _phone in staff if name}
    staff_phones = {blind_index(PHONE_INDEX_KIND, normalise_phone(phone)) for _name, phone in staff if phone}
    tagged = Resident.tags.through.objects.filter(resident_id=OuterRef("pk"))
    members = ReserveMember.objects.filter(unit=unit, resident__isnull=False).values("resident_id")
    return (
        Resident.objects.visible_to(by)
        .filter(household__grid__path__startswith=unit.path, status=ResidentStatus.PRESENT)
        .annotate(
            is_veteran=Exists(tagged.filter(attentiontag__code="veteran")),
            is_new_employment=Exists(tagged.filter(attentiontag__code="new_employment")),
        )
        .filter(Q(political_status__in=PARTY_STATUSES) | Q(is_veteran=True) | Q(is_new_employment=True))
        .exclude(pk__in=members)
        .exclude(name__in=staff_names)
        .exclude(phone_index__in=staff_phones)
        .select_related("household__grid")
        .order_by("household__number", "id")
    )


def suggested_kind(resident) -> str:
    from wangge.ledger.choices import PARTY_STATUSES

    if resident.political_status in PARTY_STATUSES:
        return ReserveKind.PARTY_MEMBER
    if getattr(resident, "is_veteran", False):
        return ReserveKind.VETERAN
    return ReserveKind.NEW_EMPLOYMENT


def reserves_below(unit: Unit):
    """The reserves kept under `unit` (itself included): per unit, members and ready members."""
    return (
        Unit.objects.filter(path__startswith=unit.path, reserve_members__isnull=False)
        .annotate(
            members=Count("reserve_members"),
            ready=Count("reserve_members", filter=Q(reserve_members__available=True)),
        )
        .order_by("path")
    )


def posts_without_b(unit: Unit, on: datetime.date | None = None):
    """Grid posts under `unit` that have no B on `on`: the AB page's to-do list."""
    on = on or timezone.localdate()
    paired = CoverPair.objects.active(on).filter(a_post=OuterRef("pk"))
    return (
        Post.objects.active(on)
        .filter(unit__path__startswith=unit.path, role__in=GRID_ROLES)
        .exclude(Exists(paired))
        .select_related("user", "unit")
        .order_by("unit__path", "id")
    )
