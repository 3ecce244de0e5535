"""一格一档: the ledgers of households, residents, places and organisations on the units (INFO-1…5).

Every ledger row hangs on a unit and is scoped through `LedgerQuerySet.visible_to`. Two rules differ
from the plain territorial scope of core.scope:
- department users see no ledgers (their scope is the work assigned to their department, not people);
- dual-grid management (GRID-8): a household and its members are visible from the grid they live in and
  from the grid they are registered in, so both grids' staff keep them in their dossier.

ID numbers and phones of people are `EncryptedTextField`s beside an HMAC blind index (`*_index`) that
exact-value search and the uniqueness of an ID number go through (see core.pii, decision 0007).
"""

from __future__ import annotations

from collections import defaultdict
from functools import reduce
from operator import or_

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.pii import EncryptedTextField
from wangge.core.scope import ScopedQuerySet, scope_for

from .choices import (
    PARTY_STATUSES,
    AttentionLevel,
    CorrectionKind,
    DrugControlStatus,
    HouseholdStatus,
    KeyPersonCategory,
    ListingState,
    MentalRiskGrade,
    OrganisationKind,
    PlaceKind,
    PoliticalStatus,
    Relation,
    ReleaseRisk,
    ResidenceType,
    ResidentStatus,
    RiskLevel,
    Sex,
    TagGroup,
    TreatmentStatus,
    YouthKind,
)


def unit_condition(model, lookups, units) -> Q:
    """Rows of `model` reaching one of `units` (a subquery of unit ids) through any of `lookups` (paths
    such as "household__grid__path").

    Lookups through the same relation become one `relation__in` subquery, so every OR joins columns of
    one table and each side can use its foreign-key index: an OR across a join would make the database
    walk every resident of the county to find one village's.
    """
    condition = Q()
    nested: dict[str, list[str]] = defaultdict(list)
    for lookup in lookups:
        fk_path = lookup.removesuffix("__path")
        if "__" in fk_path:
            hop, rest = lookup.split("__", 1)
            nested[hop].append(rest)
        else:
            condition |= Q(**{f"{fk_path}__in": units})
    for hop, rest in nested.items():
        related = model._meta.get_field(hop).related_model
        rows = related._base_manager.filter(unit_condition(related, rest, units)).values("pk")
        condition |= Q(**{f"{hop}__in": rows})
    return condition


# Up to this many units, a subtree is matched by their ids (index lookups per unit); above it, by path
# prefix — a scan that is cheaper than thousands of index probes when the subtree is most of the table.
SUBTREE_IDS_LIMIT = 1000


def subtree_condition(model, lookups, paths, known_small: dict | None = None) -> Q:
    """Rows of `model` reaching the subtrees at `paths` (unit path prefixes) through any of `lookups`: by
    unit ids for a small subtree, by path prefixes for a large one."""
    paths = tuple(paths)
    if known_small is None:
        small = _is_small_subtree(paths)
    else:  # remembered for one user object (one request): the same answer every time they ask
        small = known_small.get(paths)
        if small is None:
            small = known_small[paths] = _is_small_subtree(paths)
    if small:
        return unit_condition(model, lookups, _units_under(paths).values("pk"))
    return reduce(or_, (Q(**{f"{lookup}__startswith": path}) for lookup in lookups for path in paths))


def _units_under(paths: tuple[str, ...]):
    from wangge.units.models import Unit

    return Unit._base_manager.filter(reduce(or_, (Q(path__startswith=path) for path in paths)))


def _is_small_subtree(paths: tuple[str, ...]) -> bool:
    """Picks the faster of two conditions that give the same rows."""
    return _units_under(paths).count() <= SUBTREE_IDS_LIMIT


def _subtree_sizes(user) -> dict:
    return user.__dict__.setdefault("_wangge_small_subtrees", {})


class LedgerQuerySet(ScopedQuerySet):
    """Ledger rows are seen through territorial posts only, and through every path in `scope_path_lookups`.

    With `capability`, only the posts whose role grants it count: a county-centre post plus a grid post
    lets a user read the county but keep (or unmask) the ledger of that one grid only.
    """

    def visible_to(self, user, capability: str | None = None):
        scope = scope_for(user)
        if scope.is_global:
            return self
        paths = scope.paths_for(capability) if capability else scope.territorial_paths
        if not paths:
            return self.none()
        lookups = getattr(self.model, "scope_path_lookups", (self.model.scope_path_lookup,))
        return self.filter(subtree_condition(self.model, lookups, paths, _subtree_sizes(user)))

    def writable_by(self, user):
        """Rows the user keeps: where the record lives (`scope_path_lookup`: the residence grid, not the
        registration grid) lies under a post that grants MANAGE_LEDGERS. Registration-grid staff read."""
        from wangge.people.roles import Capability

        scope = scope_for(user)
        if scope.is_global:
            return self
        paths = scope.paths_for(Capability.MANAGE_LEDGERS)
        if not paths:
            return self.none()
        lookups = (self.model.scope_path_lookup,)
        return self.filter(subtree_condition(self.model, lookups, paths, _subtree_sizes(user)))


class AttentionTag(models.Model):
    """关注标签: care and attention groups (INFO-3), an editable list loaded from ledger/data/tags.json."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=40, unique=True)
    group = models.CharField(_("group"), max_length=16, choices=TagGroup.choices, default=TagGroup.CARE)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Households with a member carrying this tag are visited every year (issue 5's visit regime reads it).
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("attention tag")
        verbose_name_plural = _("attention tags")
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name


class Household(TimeStampedModel):
    """户: a household at an address, living in one grid and registered in another (GRID-8)."""

    number = models.CharField(_("household number"), max_length=40, unique=True)
    grid = models.ForeignKey(
        "units.Unit",
        verbose_name=_("grid of residence"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="households",
    )
    registered_grid = models.ForeignKey(
        "units.Unit",
        verbose_name=_("grid of registration"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registered_households",
        help_text=_("Only when the household register (户籍) lies in another grid than the residence."),
    )
    address = models.CharField(_("address"), max_length=200)
    door_number = models.CharField(_("door number"), max_length=40, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    is_rental = models.BooleanField(_("rented out (出租屋)"), default=False)
    landlord_name = models.CharField(_("landlord"), max_length=64, blank=True)
    landlord_phone = EncryptedTextField(_("landlord's phone"), blank=True)
    landlord_phone_index = models.CharField(max_length=40, blank=True, db_index=True, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=HouseholdStatus.choices, default=HouseholdStatus.ACTIVE
    )
    notes = models.TextField(_("notes"), blank=True)
    # 核查 (INFO-2): the record was last confirmed, changed or not, at this time by this person; a review
    # older than WANGGE_REVIEW_MONTHS is overdue. Set only by services.review_household / update_household.
    reviewed_at = models.DateTimeField(_("last reviewed"), null=True, blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
    )

    scope_path_lookup = "grid__path"
    scope_path_lookups = ("grid__path", "registered_grid__path")
    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["number"]
        indexes = [models.Index(fields=["grid", "status"])]

    def __str__(self):
        return f"{self.number} {self.address}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("ledger:household", args=[self.number])


class Resident(TimeStampedModel):
    """人: a person of a household. The household gives where they live; `registered_grid` where their
    户籍 lies when that is another grid (人户分离), so they belong to both grids."""

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="members"
    )
    name = models.CharField(_("name"), max_length=64, db_index=True)
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices, blank=True)
    id_number = EncryptedTextField(_("ID number"), blank=True)
    id_number_index = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_index = models.CharField(max_length=40, blank=True, db_index=True, editable=False)
    relation = models.CharField(
        _("relation to the householder"), max_length=16, choices=Relation.choices, default=Relation.OTHER
    )
    ethnicity = models.CharField(_("ethnic group"), max_length=16, blank=True)
    residence_type = models.CharField(
        _("residence"), max_length=16, choices=ResidenceType.choices, default=ResidenceType.REGISTERED
    )
    registered_grid = models.ForeignKey(
        "units.Unit",
        verbose_name=_("grid of registration"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registered_residents",
    )
    registered_address = models.CharField(_("registered address (户籍地)"), max_length=200, blank=True)
    occupation = models.CharField(_("occupation"), max_length=64, blank=True)
    political_status = models.CharField(
        _("political status"), max_length=20, choices=PoliticalStatus.choices, default=PoliticalStatus.MASSES
    )
    party_organisation = models.ForeignKey(
        "ledger.Organisation",
        verbose_name=_("party organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="party_members",
        limit_choices_to={"kind__in": ["party_branch", "party_group"]},
    )
    tags = models.ManyToManyField(
        AttentionTag, verbose_name=_("attention tags"), blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ResidentStatus.choices, default=ResidentStatus.PRESENT
    )
    status_date = models.DateField(_("status since"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    scope_path_lookup = "household__grid__path"
    scope_path_lookups = (
        "household__grid__path",
        "registered_grid__path",
        "household__registered_grid__path",
    )
    # The masked ID hides exactly the county digits and the birth date: the change log keeps the year.
    audit_year_only = ("birth_date",)
    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["household__number", "id"]
        indexes = [models.Index(fields=["household", "status"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("ledger:resident", args=[self.pk])

    @property
    def is_party_member(self) -> bool:
        return self.political_status in PARTY_STATUSES

    @property
    def age(self) -> int | None:
        if not self.birth_date:
            return None
        today = timezone.localdate()
        return (
            today.year
            - self.birth_date.year
            - ((today.month, today.day) < (self.birth_date.month, self.birth_date.day))
        )


class Place(TimeStampedModel):
    """地、物: buildings, shops, schools, hazards, service stations … with a point, on a unit."""

    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="places"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=PlaceKind.choices)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    # Published duty contacts of a place or organisation, not a private person's data: kept in clear.
    contact_name = models.CharField(_("contact person"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    scope_path_lookup = "unit__path"
    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places and things")
        ordering = ["unit__path", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["unit", "kind", "name"], name="place_unique_in_unit")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("ledger:place", args=[self.pk])


class Organisation(TimeStampedModel):
    """组织: social organisations, enterprises, village councils and the grid's party cells (GRID-9)."""

    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="organisations"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=OrganisationKind.choices)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    member_count = models.PositiveIntegerField(_("members"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    scope_path_lookup = "unit__path"
    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["unit__path", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "kind", "name"], name="organisation_unique_in_unit")
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("ledger:organisation", args=[self.pk])


# --- special population (GB/T 31000-2015 "9+X"): one extension record per person and kind -------------


class SpecialRecord(TimeStampedModel):
    """Fields every special-population record shares; each kind adds its own data items."""

    attention_level = models.CharField(
        _("attention level (关注程度)"),
        max_length=8,
        choices=AttentionLevel.choices,
        default=AttentionLevel.LOW,
    )
    helper_name = models.CharField(_("assigned helper (帮扶人)"), max_length=64, blank=True)
    help_notes = models.TextField(_("help and follow-up (帮扶情况)"), blank=True)
    is_closed = models.BooleanField(_("no longer followed"), default=False)

    scope_path_lookup = "resident__household__grid__path"
    scope_path_lookups = (
        "resident__household__grid__path",
        "resident__registered_grid__path",
        "resident__household__registered_grid__path",
    )
    objects = LedgerQuerySet.as_manager()

    # The attention tag the record implies; services keep the resident's tags in step.
    tag_code = ""

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self._meta.verbose_name}: {self.resident}"


class ReleasedPrisonerRecord(SpecialRecord):
    """刑满释放人员."""

    tag_code = "released_prisoner"
    resident = models.OneToOneField(
        Resident, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="released_prisoner"
    )
    original_offence = models.CharField(_("original offence (原罪名)"), max_length=100)
    sentence = models.CharField(_("original sentence (原判刑期)"), max_length=64, blank=True)
    prison = models.CharField(_("place of custody (服刑场所)"), max_length=100, blank=True)
    release_date = models.DateField(_("release date"))
    risk = models.CharField(_("risk assessment (危险性评估)"), max_length=8, choices=ReleaseRisk.choices)
    handed_over = models.BooleanField(_("handed over (已衔接)"), default=False)
    handover_date = models.DateField(_("date of handover"), null=True, blank=True)
    resettled = models.BooleanField(_("resettled (已安置)"), default=False)
    resettlement = models.CharField(_("resettlement"), max_length=200, blank=True)
    reoffended = models.BooleanField(_("reoffended"), default=False)

    class Meta:
        verbose_name = _("released prisoner record")
        verbose_name_plural = _("released prisoner records")


class CommunityCorrectionRecord(SpecialRecord):
    """社区矫正人员."""

    tag_code = "community_correction"
    resident = models.OneToOneField(
        Resident, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="community_correction"
    )
    correction_number = models.CharField(_("correction number"), max_length=40, blank=True)
    correction_kind = models.CharField(
        _("correction category (矫正类别)"), max_length=16, choices=CorrectionKind.choices
    )
    original_offence = models.CharField(_("original offence (原罪名)"), max_length=100, blank=True)
    start_date = models.DateField(_("correction starts"))
    end_date = models.DateField(_("correction ends"))
    absconded = models.BooleanField(_("out of supervision (脱管)"), default=False)
    missed = models.BooleanField(_("never taken under supervision (漏管)"), default=False)
    reoffended = models.BooleanField(_("reoffended"), default=False)

    class Meta:
        verbose_name = _("community correction record")
        verbose_name_plural = _("community correction records")


class MentalHealthRecord(SpecialRecord):
    """严重精神障碍患者."""

    tag_code = "severe_mental_disorder"
    resident = models.OneToOneField(
        Resident, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="mental_health"
    )
    diagnosis = models.CharField(_("diagnosis"), max_length=100)
    guardian_name = models.CharField(_("guardian (监护人)"), max_length=64, blank=True)
    guardian_phone = EncryptedTextField(_("guardian's phone"), blank=True)
    risk_grade = models.CharField(
        _("risk grade (危险性评估等级)"), max_length=1, choices=MentalRiskGrade.choices
    )
    treatment = models.CharField(_("treatment (治疗情况)"), max_length=16, choices=TreatmentStatus.choices)
    hospital = models.CharField(_("treating hospital"), max_length=100, blank=True)
    in_assistance = models.BooleanField(_("in the assistance programme (纳入救助)"), default=False)

    class Meta:
        verbose_name = _("severe mental disorder record")
        verbose_name_plural = _("severe mental disorder records")


class DrugUserRecord(SpecialRecord):
    """吸毒人员."""

    tag_code = "drug_user"
    resident = models.OneToOneField(
        Resident, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="drug_user"
    )
    first_found = models.DateField(_("first found"), null=True, blank=True)
    control_status = models.CharField(
        _("control (管控情况)"), max_length=16, choices=DrugControlStatus.choices
    )
    drug_kind = models.CharField(_("drug"), max_length=64, blank=True)
    offending = models.BooleanField(_("offences besides drug use"), default=False)

    class Meta:
        verbose_name = _("drug user record")
        verbose_name_plural = _("drug user records")


class KeyYouthRecord(SpecialRecord):
    """重点青少年."""

    tag_code = "key_youth"
    resident = models.OneToOneField(
        Resident, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="key_youth"
    )
    youth_kind = models.CharField(_("group (人员类型)"), max_length=20, choices=YouthKind.choices)
    guardian_name = models.CharField(_("guardian (监护人)"), max_length=64, blank=True)
    guardian_phone = EncryptedTextField(_("guardian's phone"), blank=True)
    help_means = models.CharField(_("means of help (帮扶手段)"), max_length=200, blank=True)
    offending = models.BooleanField(_("offending"), default=False)

    class Meta:
        verbose_name = _("key youth record")
        verbose_name_plural = _("key youth records")


SPECIAL_RECORD_MODELS = (
    ReleasedPrisonerRecord,
    CommunityCorrectionRecord,
    MentalHealthRecord,
    DrugUserRecord,
    KeyYouthRecord,
)


class KeyPersonListing(TimeStampedModel):
    """重点人员: one listing of a person, 列管申请 → 已列管 → 撤管申请 → 已撤管, each step approved by the
    level above the unit that applied. A person has at most one open listing; closed ones stay as history."""

    resident = models.ForeignKey(
        Resident, verbose_name=_("resident"), on_delete=models.PROTECT, related_name="key_listings"
    )
    category = models.CharField(_("category"), max_length=16, choices=KeyPersonCategory.choices)
    reason = models.TextField(_("reason for listing"))
    attention_level = models.CharField(
        _("attention level (关注程度)"),
        max_length=8,
        choices=AttentionLevel.choices,
        default=AttentionLevel.MEDIUM,
    )
    state = models.CharField(
        _("state"), max_length=20, choices=ListingState.choices, default=ListingState.APPLIED
    )
    applying_unit = models.ForeignKey(
        "units.Unit", verbose_name=_("applying unit"), on_delete=models.PROTECT, related_name="+"
    )
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("applied by"), on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(_("applied at"), default=timezone.now)
    listed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("listing approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    listed_at = models.DateTimeField(_("listed at"), null=True, blank=True)
    delisting_reason = models.TextField(_("reason for delisting"), blank=True)
    delisting_applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("delisting applied by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    delisting_applied_at = models.DateTimeField(_("delisting applied at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    scope_path_lookup = "resident__household__grid__path"
    scope_path_lookups = SpecialRecord.scope_path_lookups
    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("key person listing")
        verbose_name_plural = _("key person listings")
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=Q(state__in=["applied", "listed", "delisting_applied"]),
                name="key_listing_one_open_per_resident",
            )
        ]

    def __str__(self):
        return f"{self.resident} · {self.get_state_display()}"


class ImportKind(models.TextChoices):
    HOUSEHOLDS = "households", _("Households")
    RESIDENTS = "residents", _("Residents")
    PLACES = "places", _("Places and things")
    ORGANISATIONS = "organisations", _("Organisations")


class ImportStatus(models.TextChoices):
    CHECKED = "checked", _("Checked (dry run)")
    APPLIED = "applied", _("Imported")
    REFUSED = "refused", _("Refused: errors and all-or-nothing chosen")


class ImportRun(TimeStampedModel):
    """One uploaded ledger file: the dry run's report, then what was written. The file itself is kept
    only until it is applied; the report holds masked values only."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("importing unit"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Rows may only name grids inside this unit's subtree."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    file_name = models.CharField(_("file name"), max_length=200)
    stored_file = models.CharField(max_length=200, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.CHECKED
    )
    mode = models.CharField(_("mode"), max_length=16, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    error_row_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    applied_at = models.DateTimeField(_("imported at"), null=True, blank=True)

    scope_path_lookup = "unit__path"
    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger import")
        verbose_name_plural = _("ledger imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.file_name}"
