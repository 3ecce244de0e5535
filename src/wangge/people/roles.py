"""Roles a post can carry, and what each role may do.

The role decides *what* a user may do; the post's unit decides *where* (its subtree, see core.scope).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    COUNTY_COMMAND = "county_command", _("County command centre")
    TOWNSHIP_ADMIN = "township_admin", _("Township administrator (safety office)")
    VILLAGE_ADMIN = "village_admin", _("Village/community administrator")
    GRID_LEADER = "grid_leader", _("Grid leader")
    DEPUTY_GRID_LEADER = "deputy_grid_leader", _("Deputy grid leader")
    GRID_WORKER_FULL_TIME = "grid_worker_full_time", _("Full-time grid worker")
    GRID_WORKER_PART_TIME = "grid_worker_part_time", _("Part-time grid worker")
    GRID_INSTRUCTOR = "grid_instructor", _("Grid instructor")
    LIAISON_CADRE = "liaison_cadre", _("Liaison cadre")
    # The "N" of "1+n+N": forces that work the grid without being its grid workers.
    LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement officer")
    COMPOUND_HEAD = "compound_head", _("Residential compound head")
    DEPARTMENT_USER = "department_user", _("Department user")


class Capability(models.TextChoices):
    VIEW_UNITS = "view_units", _("View units in scope")
    MANAGE_UNITS = "manage_units", _("Create, edit, move, split and merge units below one's own")
    MANAGE_POSTS = "manage_posts", _("Assign posts below one's own unit")
    USE_ADMIN = "use_admin", _("Use the administration site")
    CONFIGURE = "configure", _("Edit deployment-wide configuration (levels, standards, categories, calendar)")
    REPORT_CASES = "report_cases", _("Report cases")
    HANDLE_CASES = "handle_cases", _("Verify, register, handle and escalate cases; act on assigned cases")
    DISPATCH_CASES = "dispatch_cases", _("Dispatch cases to units and departments; approve extensions")
    SUPERVISE_CASES = "supervise_cases", _("Urge cases (督办) below one's own unit")
    MANAGE_LONG_TERM = "manage_long_term", _("Put cases into long-term management and take them out")
    PUBLISH_CASES = "publish_cases", _("Publish closed cases on the public board")
    VIEW_LEDGERS = "view_ledgers", _("View the ledgers of households, residents, places and organisations")
    MANAGE_LEDGERS = "manage_ledgers", _("Add, edit and import ledger records")
    VIEW_PERSONAL_DATA = "view_personal_data", _("See ID and phone numbers unmasked (every view is logged)")
    APPROVE_KEY_PERSONS = (
        "approve_key_persons",
        _("Approve listing and delisting of key persons below one's unit"),
    )
    MANAGE_STAFF = (
        "manage_staff",
        _("Keep the staff ledger: agreements, badges, AB pairs, absences, reserve, training, flags"),
    )
    KEEP_ADMISSION_LIST = (
        "keep_admission_list",
        _("Keep the admission list (准入事项清单) and decide requests to add task types to it"),
    )
    APPRAISE = (
        "appraise",
        _(
            "Inspect, score and appraise the staff and units below one's own (日报周查月考核, annual appraisal)"
        ),
    )
    MANAGE_PAY = (
        "manage_pay",
        _("Keep pay rules, per-case allowances and rewards; compute the payroll sheets below one's own unit"),
    )
    RATE_DEPARTMENTS = (
        "rate_departments",
        _("Rate the county departments on the cases they handled (以下看上)"),
    )
    AWARD_POINTS = (
        "award_points",
        _("Award residents' points for good deeds and redeem them at the points shop"),
    )
    MANAGE_POINTS_SHOP = (
        "manage_points_shop",
        _("Keep the points rules and the points shop's goods and prices"),
    )
    VIEW_DASHBOARD = (
        "view_dashboard",
        _("Open the command centre's dashboards, maps and monthly reports of one's own unit and below"),
    )


# Roles whose holders see the whole deployment regardless of where their post sits.
GLOBAL_ROLES = frozenset({Role.SYSTEM_ADMIN})

_MANAGERS = {Capability.VIEW_UNITS, Capability.MANAGE_UNITS, Capability.MANAGE_POSTS, Capability.USE_ADMIN}
_CASE_WORK = {Capability.REPORT_CASES, Capability.HANDLE_CASES}
_LEDGER_WORK = {Capability.VIEW_LEDGERS, Capability.MANAGE_LEDGERS}
_FIELD = {Capability.VIEW_UNITS, *_CASE_WORK, *_LEDGER_WORK}
_DESK = {
    *_MANAGERS,
    *_CASE_WORK,
    Capability.VIEW_LEDGERS,
    Capability.SUPERVISE_CASES,
    Capability.PUBLISH_CASES,
    Capability.VIEW_DASHBOARD,
}
# Who works with named people day to day keeps the ledgers and sees their numbers; the county centre
# works on aggregates, part-time workers, instructors and liaison cadres on what the grid's staff pass on.
_PERSONAL = {Capability.MANAGE_LEDGERS, Capability.VIEW_PERSONAL_DATA}
# Seed 003: the village (二级网格) appraises, pays and rewards the 三、四级 workers; the township inspects
# villages and grids (seed 000); the county centre runs the whole appraisal. Grid staff award residents'
# points, the village keeps the shop; everyone at the grassroots rates the county departments (以下看上).
_APPRAISERS = {Capability.APPRAISE, Capability.MANAGE_PAY}
_POINTS_KEEPERS = {Capability.AWARD_POINTS, Capability.MANAGE_POINTS_SHOP}
_GRID_STAFF = {*_FIELD, Capability.AWARD_POINTS, Capability.RATE_DEPARTMENTS}

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.SYSTEM_ADMIN: frozenset(Capability.values),
    Role.COUNTY_COMMAND: frozenset(
        {
            *_DESK,
            Capability.DISPATCH_CASES,
            Capability.MANAGE_LONG_TERM,
            Capability.APPROVE_KEY_PERSONS,
            Capability.MANAGE_STAFF,
            Capability.KEEP_ADMISSION_LIST,
            *_APPRAISERS,
        }
    ),
    Role.TOWNSHIP_ADMIN: frozenset(
        {
            *_DESK,
            *_PERSONAL,
            Capability.DISPATCH_CASES,
            Capability.APPROVE_KEY_PERSONS,
            Capability.MANAGE_STAFF,
            Capability.KEEP_ADMISSION_LIST,
            *_APPRAISERS,
            *_POINTS_KEEPERS,
            Capability.RATE_DEPARTMENTS,
        }
    ),
    Role.VILLAGE_ADMIN: frozenset(
        {
            *_DESK,
            *_PERSONAL,
            Capability.MANAGE_STAFF,
            *_APPRAISERS,
            *_POINTS_KEEPERS,
            Capability.RATE_DEPARTMENTS,
        }
    ),
    # A grid's leaders follow their grid on the command centre's figures too.
    Role.GRID_LEADER: frozenset({*_GRID_STAFF, *_PERSONAL, Capability.VIEW_DASHBOARD}),
    Role.DEPUTY_GRID_LEADER: frozenset({*_GRID_STAFF, *_PERSONAL, Capability.VIEW_DASHBOARD}),
    Role.GRID_WORKER_FULL_TIME: frozenset({*_GRID_STAFF, *_PERSONAL}),
    Role.GRID_WORKER_PART_TIME: frozenset(_GRID_STAFF),
    Role.GRID_INSTRUCTOR: frozenset(
        {Capability.VIEW_UNITS, Capability.REPORT_CASES, Capability.VIEW_LEDGERS}
    ),
    Role.LIAISON_CADRE: frozenset({Capability.VIEW_UNITS, Capability.REPORT_CASES, Capability.VIEW_LEDGERS}),
    Role.LAW_ENFORCEMENT: frozenset({Capability.VIEW_UNITS, Capability.REPORT_CASES}),
    Role.COMPOUND_HEAD: frozenset({Capability.VIEW_UNITS, Capability.REPORT_CASES}),
    # Departments take dispatched work; they see no ledger of people (the ledger scope is territorial).
    Role.DEPARTMENT_USER: frozenset({Capability.VIEW_UNITS, *_CASE_WORK}),
}

# Which unit ranks (UnitLevel.rank) a role's post may sit at; None means any rank.
ROLE_RANKS: dict[str, set[int] | None] = {
    Role.SYSTEM_ADMIN: None,
    Role.COUNTY_COMMAND: {1},
    Role.TOWNSHIP_ADMIN: {2},
    Role.VILLAGE_ADMIN: {3},
    Role.DEPARTMENT_USER: {1, 2},
    Role.GRID_INSTRUCTOR: {2, 3},
    Role.LIAISON_CADRE: {2, 3},
    Role.LAW_ENFORCEMENT: {1, 2, 3},
}
GRID_ROLES = frozenset(
    {Role.GRID_LEADER, Role.DEPUTY_GRID_LEADER, Role.GRID_WORKER_FULL_TIME, Role.GRID_WORKER_PART_TIME}
)


def capabilities_of(roles) -> frozenset[str]:
    caps: set[str] = set()
    for role in roles:
        caps |= ROLE_CAPABILITIES.get(role, frozenset())
    return frozenset(caps)
