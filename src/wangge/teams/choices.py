"""Fixed vocabularies of the staff ledger."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.people.roles import Role


class FlagKind(models.TextChoices):
    """TEAM-9: where an outstanding grid worker is put forward."""

    PARTY_DEVELOPMENT = "party_development", _("Party-member development (党员发展对象)")
    CADRE_RESERVE = "cadre_reserve", _("Village cadre reserve pool (村级后备力量)")


class Staffing(models.TextChoices):
    """How the smallest grid is staffed (TEAM-2, seed 000: 一格一员 or 多格一员)."""

    ONE_PER_GRID = "one_per_grid", _("One worker per grid (一格一员)")
    SHARED = "shared", _("One worker for several grids (多格一员)")
    NONE = "none", _("No grid worker")


# The "1", the "n" and the "N" of seed 002's "1+n+N".
LEADER_ROLES = (Role.GRID_LEADER, Role.DEPUTY_GRID_LEADER)
WORKER_ROLES = (Role.GRID_WORKER_FULL_TIME, Role.GRID_WORKER_PART_TIME)
OTHER_FORCE_ROLES = (Role.GRID_INSTRUCTOR, Role.LIAISON_CADRE, Role.LAW_ENFORCEMENT, Role.COMPOUND_HEAD)
# Posts in the staff ledger: every territorial post (a department user works for the department).
LEDGER_EXCLUDED_ROLES = (Role.DEPARTMENT_USER, Role.SYSTEM_ADMIN)
