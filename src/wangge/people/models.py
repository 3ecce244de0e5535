from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for

from .roles import GRID_ROLES, ROLE_RANKS, Capability, Role, capabilities_of


class User(AbstractUser):
    """A person who signs in: staff at any level. Residents report without an account."""

    full_name = models.CharField(_("full name"), max_length=64, blank=True)
    # A staff member's work phone is published on the grid's notice board (TEAM-6, INFO-4): not private.
    phone = models.CharField(_("work phone"), max_length=32, blank=True)

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
        if errors:
            raise ValidationError(errors)
