import uuid

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.pii import EncryptedTextField
from wangge.core.scope import ScopedQuerySet, scope_for

from .roles import GRID_ROLES, ROLE_RANKS, Capability, Role, capabilities_of


def staff_photo_path(instance, filename):
    """Generated names only: nothing the client sent ends up in a path (services set the extension)."""
    extension = getattr(instance, "photo_extension", "jpg")
    return f"staff/{uuid.uuid4().hex}.{extension}"


class User(AbstractUser):
    """A person who signs in: staff at any level. Residents report without an account."""

    full_name = models.CharField(_("full name"), max_length=64, blank=True)
    # A staff member's work phone is published on the grid's notice board (TEAM-6, INFO-4): not private.
    phone = models.CharField(_("work phone"), max_length=32, blank=True)
    # Shown on the public notice board (TEAM-6); set through people.services.set_photo, which checks it.
    photo = models.ImageField(_("photo"), upload_to=staff_photo_path, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.full_name or self.username

    def get_full_name(self):
        return self.full_name or self.username

    @property
    def scope(self):
        return scope_for(self)

    def has_capability(self, capability: str) -> bool:
        if self.is_superuser:
            return True
        return capability in capabilities_of(self.scope.roles)

    def active_posts(self):
        return self.posts.active().select_related("unit", "unit__level", "department")

    def primary_unit(self):
        """The unit a user acts from: their highest active post (shortest path), for audit rows."""
        post = self.posts.active().select_related("unit").order_by("unit__depth", "id").first()
        return post.unit if post else None

    def can_manage_unit(self, unit) -> bool:
        """Units may be changed by managers strictly below their own post's unit (system admins: all)."""
        scope = self.scope
        if not self.has_capability(Capability.MANAGE_UNITS):
            return False
        if scope.is_global:
            return True
        return any(unit.path.startswith(p) and unit.path != p for p in scope.paths)


class Department(TimeStampedModel):
    """A functional department (县应急局, 乡镇平安办 …) that takes dispatched work; sits at a unit."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="departments"
    )
    phone = models.CharField(_("duty phone"), max_length=32, blank=True)

    scope_path_lookup = "unit__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["unit__path", "name"]

    def __str__(self):
        return self.name


class PostQuerySet(ScopedQuerySet):
    def active(self, on=None):
        on = on or timezone.localdate()
        return self.filter(Q(start_date__lte=on) & (Q(end_date__isnull=True) | Q(end_date__gte=on)))


class Post(TimeStampedModel):
    """岗位: one person's role at one unit for a period. Scope and permissions derive from posts."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="posts")
    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="posts"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    title = models.CharField(
        _("title"), max_length=64, blank=True, help_text=_("Local title, e.g. 四级网格员 or 村党支部书记.")
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="posts",
    )
    start_date = models.DateField(_("start date"), default=timezone.localdate)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    duties = models.TextField(
        _("duties"),
        blank=True,
        help_text=_("What this post does for residents (工作职责), shown on the grid's public notice board."),
    )

    scope_path_lookup = "unit__path"
    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["unit__path", "role", "id"]
        indexes = [models.Index(fields=["user", "end_date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="post_end_after_start",
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.title or self.get_role_display()} · {self.unit.name}"

    def clean(self):
        errors = {}
        if self.role == Role.DEPARTMENT_USER and not self.department_id:
            errors["department"] = _("A department user's post must name the department.")
        if self.unit_id:
            ranks = ROLE_RANKS.get(self.role)
            level = self.unit.level
            if self.role in GRID_ROLES and not (level.is_grid or level.rank == 3):
                errors["unit"] = _("Grid posts sit at a grid or at a village/community.")
            elif ranks is not None and level.rank not in ranks:
                errors["unit"] = _("A %(role)s post cannot sit at a unit of level %(level)s.") % {
                    "role": self.get_role_display(),
                    "level": level.name,
                }
            if self.department_id and not self.unit.path.startswith(self.department.unit.path):
                errors["department"] = _("The department must belong to the post's unit or above it.")
        # TEAM-8: a grid post goes only to someone trained before it starts (imported here: teams builds
        # on people).
        from wangge.teams.services import check_trained_before_posted

        try:
            check_trained_before_posted(self)
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)


# --- AB岗 (TEAM-3) and the emergency reserve (TEAM-4) ---------------------------------------------------


class AbsenceReason(models.TextChoices):
    LEAVE = "leave", _("Leave")
    SICK = "sick", _("Sick leave")
    TRAINING = "training", _("Training")
    OTHER = "other", _("Other")


class ReserveKind(models.TextChoices):
    """Where a member of the emergency reserve (应急预备队) comes from, in seed 002's order."""

    B_POST = "b_post", _("B-post grid worker")
    PARTY_MEMBER = "party_member", _("Party member without a grid post")
    DEPARTMENT_HELPER = "department_helper", _("Department helper")
    RETIRED_CADRE = "retired_cadre", _("Retired cadre")
    VETERAN = "veteran", _("Veteran")
    NEW_EMPLOYMENT = "new_employment", _("New-employment worker")
    VOLUNTEER = "volunteer", _("Volunteer")
    DOCTOR = "doctor", _("Community doctor")
    POLICE = "police", _("Police officer")


class CoverPairQuerySet(ScopedQuerySet):
    def active(self, on=None):
        on = on or timezone.localdate()
        return self.filter(Q(start_date__lte=on) & (Q(end_date__isnull=True) | Q(end_date__gte=on)))


class CoverPair(TimeStampedModel):
    """AB岗: the B person who covers an A post while its holder is away (seed 002: 2人互为补充).

    Written only by people.services (pair_posts, end_pair). B holds a territorial post in the same
    village as the A post; one A post has at most one B on any day.
    """

    a_post = models.ForeignKey(
        Post, verbose_name=_("A post"), on_delete=models.PROTECT, related_name="cover_pairs"
    )
    b_user = models.ForeignKey(
        User, verbose_name=_("B (covers)"), on_delete=models.PROTECT, related_name="cover_duties"
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)

    scope_path_lookup = "a_post__unit__path"
    objects = CoverPairQuerySet.as_manager()

    class Meta:
        verbose_name = _("AB pair")
        verbose_name_plural = _("AB pairs")
        ordering = ["a_post__unit__path", "-start_date", "id"]
        indexes = [models.Index(fields=["a_post", "end_date"]), models.Index(fields=["b_user", "end_date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="cover_pair_end_after_start",
            )
        ]

    def __str__(self):
        return f"A {self.a_post.user} · B {self.b_user} · {self.a_post.unit.name}"


class AbsenceQuerySet(ScopedQuerySet):
    def live(self):
        """Absences that were not cancelled."""
        return self.filter(cancelled_at__isnull=True)

    def on(self, day):
        return self.live().filter(start__lte=day, end__gte=day)

    def overlapping(self, start, end):
        return self.live().filter(start__lte=end, end__gte=start)


class Absence(TimeStampedModel):
    """A's time away from an A post, and who covered it. The cover is copied from the pair in force when
    the absence is recorded, so the history keeps who covered even after the pair changes."""

    post = models.ForeignKey(
        Post, verbose_name=_("A post"), on_delete=models.PROTECT, related_name="absences"
    )
    start = models.DateField(_("first day away"))
    end = models.DateField(_("last day away"))
    reason = models.CharField(_("reason"), max_length=16, choices=AbsenceReason.choices)
    note = models.TextField(_("note"), blank=True)
    cover = models.ForeignKey(
        User, verbose_name=_("covered by"), on_delete=models.PROTECT, related_name="covered_absences"
    )
    pair = models.ForeignKey(
        CoverPair,
        verbose_name=_("AB pair"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="absences",
    )
    recorded_by = models.ForeignKey(
        User,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        User,
        verbose_name=_("cancelled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    scope_path_lookup = "post__unit__path"
    objects = AbsenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["-start", "-id"]
        indexes = [
            models.Index(fields=["cover", "start", "end"], name="absence_cover_dates"),
            models.Index(fields=["post", "start"], name="absence_post_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="absence_end_after_start")
        ]

    def __str__(self):
        return f"{self.post.user} {self.start:%Y-%m-%d}–{self.end:%Y-%m-%d}"

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class ReserveMember(TimeStampedModel):
    """A member of a unit's emergency reserve (应急预备队, TEAM-4), called on in the emergency mode.

    The phone is personal data (most members are residents, not staff): encrypted, found by its blind
    index, masked on lists. Written only by people.services.
    """

    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="reserve_members"
    )
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("drawn from"), max_length=20, choices=ReserveKind.choices)
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_index = models.CharField(max_length=40, blank=True, db_index=True, editable=False)
    user = models.ForeignKey(
        User,
        verbose_name=_("staff account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reserve_memberships",
    )
    resident = models.ForeignKey(
        "ledger.Resident",
        verbose_name=_("resident in the ledger"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    skills = models.CharField(_("skills"), max_length=200, blank=True)
    available = models.BooleanField(_("ready to be called"), default=True)
    notes = models.TextField(_("notes"), blank=True)

    scope_path_lookup = "unit__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("reserve member")
        verbose_name_plural = _("reserve members")
        ordering = ["unit__path", "kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "user"], condition=Q(user__isnull=False), name="reserve_member_user_once"
            ),
            models.UniqueConstraint(
                fields=["unit", "resident"],
                condition=Q(resident__isnull=False),
                name="reserve_member_resident_once",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"
