"""The demo county's ledgers (一格一档): the people of every household, the places and organisations of
every village, special-population records, key-person listings, and work phones for the staff.

    plan_ledger(plan, seed, today) -> LedgerPlan     pure: from the county plan and one seeded RNG
    load_ledger(ledger) -> dict[str, int]            bulk inserts into the database holding the county
    build_ledger(plan, seed, today=None)             both, inside the demo's transaction

Like the rest of the demo everything is synthetic: names from `names`, ID numbers valid under GB 11643
(the county's region code, birth dates that fit each person's relation and age, unique in the county),
mobile numbers drawn at random. The same seed and the same `today` give the same ledger: all randomness
comes from one `random.Random` and one `numpy.random.Generator` seeded from the demo seed (apart from
the county plan's own), consumed in a fixed order. `today` anchors ages, so a person born 80 years before
it is 高龄 on the day the demo is loaded.

Proportions follow the brief of issue 4 and common county figures: ≈3.3 people a household; 88% living
where registered (人户一致), ≈6% registered in another grid of the county (人户分离, the dual-grid case),
≈5% floating population in rented homes (8% of households are 出租屋), ≈1% registered here but living away
(户在人不在, whose families at home are the left-behind); ≈7% Party members, each linked to their grid's
党小组 or the village's 网格党支部; attention tags and special-population records in the shares of the
constants below (HOUSEHOLD_TAGS, DISABLED_BY_AGE, SPECIAL_SHARES, the *_SHARE figures) and the rules of
_Planner (高龄 from 80, 空巢/独居 from 65, 留守 in the homes of those working away …).

Both scales are written by the bulk path below (the services are proven by their own tests; at county
scale one call per resident would take most of an hour). Rows go in with raw `executemany`, each value
prepared by its model field (so ID numbers and phones are encrypted by `EncryptedTextField`), with the
blind indexes computed by `wangge.core.pii.blind_index`, and no change-log rows: this is a system load
into a new county, like the units and households before it.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass, field

import numpy as np
import shapely
from django.db import connection
from django.db.models.functions import Mod
from django.utils import timezone

from wangge.core.pii import EncryptedTextField, blind_index, id_check_code
from wangge.ledger.choices import (
    AttentionLevel,
    CorrectionKind,
    DrugControlStatus,
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
    TreatmentStatus,
    YouthKind,
)
from wangge.ledger.models import (
    AttentionTag,
    CommunityCorrectionRecord,
    DrugUserRecord,
    Household,
    KeyPersonListing,
    KeyYouthRecord,
    MentalHealthRecord,
    Organisation,
    Place,
    ReleasedPrisonerRecord,
    Resident,
)
from wangge.ledger.services import ID_INDEX_KIND, PHONE_INDEX_KIND
from wangge.people.models import User
from wangge.people.roles import Role
from wangge.units.choices import AreaType, UnitKind
from wangge.units.models import Unit

from . import names
from .cases import large_cache, reset_sequences
from .generator import (
    COUNTY_CODE,
    DemoPlan,
    HouseholdPlan,
    UnitPlan,
    analyze,
    batched,
    points_inside,
    uniform_draw,
)

BATCH = 5000

# --- shares ------------------------------------------------------------------------------------------

# Household sizes (1–6) of owner-occupied homes and of rented ones (tenants live in smaller groups);
# with 8% rented the county averages ≈3.3 people a household.
OWNER_SIZES = {1: 0.10, 2: 0.19, 3: 0.24, 4: 0.22, 5: 0.14, 6: 0.11}
TENANT_SIZES = {1: 0.35, 2: 0.30, 3: 0.20, 4: 0.12, 5: 0.03}
RENTED_SHARE = 0.08  # 出租屋, about 2.5 times as common in the 街道's communities as in villages
SEPARATED_SHARE = 0.065  # owner households registered in another grid of the county (人户分离)
TENANTS_FROM_THE_COUNTY = 0.05  # the other tenants are floating population from outside the county
# Rural couples under 52 with one or both spouses working away (户在人不在), divided by the rural share
# of households so that ≈1% of the county's residents live away whatever the mix of town and country.
MIGRANT_SHARE = 0.048
PARTY_SHARE = 0.07  # of all residents; only adults are members

# Attention tags: disability by age (share below each age limit), and tags every member of a household gets.
DISABLED_BY_AGE = ((18, 0.012), (60, 0.042), (80, 0.11), (200, 0.17))
HOUSEHOLD_TAGS = (  # (code, share of rural households, share of urban households): every member
    ("dibao", 0.034, 0.025),
    ("poverty_monitored", 0.035, 0.0),
    ("hardship", 0.01, 0.01),
)
# Special-population kinds, as shares of all residents (exact counts drawn from those eligible).
SPECIAL_SHARES = {
    "released_prisoner": 0.001,
    "community_correction": 0.0005,
    "severe_mental_disorder": 0.004,
    "drug_user": 0.0005,
    "key_youth": 0.001,
}
VETERAN_SHARE = 0.015  # of men aged 25–70
NEW_EMPLOYMENT_SHARE = 0.01  # of urban adults: couriers, food delivery riders, ride-hailing drivers
TEKUN_SHARE = 0.2  # of people 60+ living alone
KEY_PERSON_SHARE = 0.0005  # listed key persons (重点人员) among all residents

ETHNICITIES = (
    ("汉族", 0.95),
    ("土家族", 0.03),
    ("苗族", 0.015),
    ("回族", 0.002),
    ("彝族", 0.002),
    ("壮族", 0.001),
)
# Where the floating population comes from: (region code, province). Codes only shape the ID numbers.
ORIGINS = (
    ("500101", "重庆市"),
    ("500235", "重庆市"),
    ("510722", "四川省"),
    ("511621", "四川省"),
    ("513021", "四川省"),
    ("421022", "湖北省"),
    ("422802", "湖北省"),
    ("522121", "贵州省"),
    ("610921", "陕西省"),
)
MOBILE_PREFIXES = tuple(
    [f"13{d}" for d in range(10)]
    + ["150", "151", "152", "157", "158", "159", "166", "177", "180", "181", "182", "187", "189", "199"]
)
MALE_GIVEN = "".join(c for c in names.GIVEN if c in "伟强磊军洋勇杰涛明超平刚华建国志文斌海波云飞林德成")
FEMALE_GIVEN = "".join(c for c in names.GIVEN if c in "芳娜敏静丽艳娟秀霞平桂英华玉兰红琴晓燕婷雪梅春云林")
_SURNAME_CUMULATIVE = list(itertools.accumulate(1 / (i + 8) for i in range(len(names.SURNAMES))))

RURAL_WORK = (("务农", 45), ("外出务工", 8), ("个体经营", 8), ("建筑工人", 10), ("企业职工", 12), ("教师", 2),
              ("乡村医生", 1), ("村干部", 1), ("无业", 8), ("家庭主妇", 5))  # fmt: skip
URBAN_WORK = (("企业职工", 32), ("个体经营", 14), ("公务员", 4), ("事业单位职工", 5), ("教师", 5),
              ("医护人员", 3), ("服务业从业人员", 16), ("自由职业", 6), ("无业", 8), ("家庭主妇", 4),
              ("建筑工人", 3))  # fmt: skip
TENANT_WORK = (("务工", 40), ("个体经营", 20), ("服务业从业人员", 25), ("建筑工人", 10), ("企业职工", 5))
NEW_EMPLOYMENT_JOBS = ("快递员", "外卖送餐员", "网约车司机", "快递员", "外卖送餐员")


# --- the plan ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class PersonPlan:
    household: str  # household number
    name: str
    sex: str
    id_number: str
    birth_date: datetime.date
    age: int  # on `today`; not stored, the birth date is
    relation: str
    ethnicity: str = "汉族"
    residence_type: str = ResidenceType.REGISTERED
    registered_grid: str = ""  # unit code, when registered in another grid of the county
    registered_address: str = ""
    phone: str = ""
    occupation: str = ""
    political_status: str = PoliticalStatus.MASSES
    party_organisation: int | None = None  # index into LedgerPlan.organisations
    tags: tuple[str, ...] = ()


@dataclass(slots=True)
class HouseholdExtra:
    """What a household row gets beside the county plan's number, grid, address and point."""

    number: str
    registered_grid: str = ""
    landlord_name: str = ""
    landlord_phone: str = ""


@dataclass(slots=True)
class PlacePlan:
    unit: str
    kind: str
    name: str
    address: str
    lng: float | None
    lat: float | None
    contact_name: str = ""
    contact_phone: str = ""
    risk_level: str = ""
    notes: str = ""


@dataclass(slots=True)
class OrganisationPlan:
    unit: str
    kind: str
    name: str
    address: str
    lng: float | None
    lat: float | None
    contact_name: str = ""
    contact_phone: str = ""
    member_count: int | None = None
    notes: str = ""


@dataclass(slots=True)
class SpecialPlan:
    kind: str  # tag code of the record's model
    person: int  # index into LedgerPlan.people
    attention_level: str
    helper_name: str
    help_notes: str
    fields: dict


@dataclass(slots=True)
class ListingPlan:
    person: int
    category: str
    reason: str
    attention_level: str
    state: str
    applying_unit: str  # village code
    applied_by: str  # usernames
    applied_at: datetime.datetime
    listed_by: str = ""
    listed_at: datetime.datetime | None = None
    delisting_reason: str = ""
    delisting_applied_by: str = ""
    delisting_applied_at: datetime.datetime | None = None
    closed_by: str = ""
    closed_at: datetime.datetime | None = None
    decision_note: str = ""


@dataclass
class LedgerPlan:
    today: datetime.date
    people: list[PersonPlan] = field(default_factory=list)
    households: list[HouseholdExtra] = field(default_factory=list)  # only those with something to add
    places: list[PlacePlan] = field(default_factory=list)
    organisations: list[OrganisationPlan] = field(default_factory=list)
    specials: list[SpecialPlan] = field(default_factory=list)
    listings: list[ListingPlan] = field(default_factory=list)
    staff_phones: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A digest of everything the plan would write; equal digests mean identical ledgers."""
        digest = hashlib.sha256(str(self.today).encode())
        for rows in (
            self.people,
            self.households,
            self.places,
            self.organisations,
            self.specials,
            self.listings,
        ):
            for row in rows:
                digest.update(repr(astuple(row)).encode())
        digest.update(repr(sorted(self.staff_phones.items())).encode())
        return digest.hexdigest()


# --- people ------------------------------------------------------------------------------------------


def years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_on(born: datetime.date, today: datetime.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def weighted(rnd: random.Random, table) -> Callable[[], object]:
    """A drawer from ((value, weight), …) with the cumulative weights computed once."""
    values = [v for v, _w in table]
    cumulative = list(itertools.accumulate(w for _v, w in table))
    return lambda: rnd.choices(values, cum_weights=cumulative)[0]


class People:
    """Draws synthetic people: names, birth dates of a given age, unique valid ID numbers, phones.

    `taken` holds the first 17 digits (as ints) of every ID number drawn so far, so two people never
    share one; pass the same set to keep a second batch (the bench's import file) clear of the first.
    """

    def __init__(self, rnd: random.Random, today: datetime.date, taken: set[int] | None = None):
        self.rnd = rnd
        self.today = today
        self.taken = taken if taken is not None else set()
        # For each age, the first ordinal of a birth date giving that age today, and how many there are.
        self.born_range = []
        for age in range(111):
            latest = years_before(today, age)
            earliest = years_before(today, age + 1) + datetime.timedelta(days=1)
            self.born_range.append((earliest.toordinal(), latest.toordinal() - earliest.toordinal() + 1))
        self.ethnicity = weighted(rnd, ETHNICITIES)

    def surname(self) -> str:
        return self.rnd.choices(names.SURNAMES, cum_weights=_SURNAME_CUMULATIVE)[0]

    def given(self, sex: str) -> str:
        pool = MALE_GIVEN if sex == Sex.MALE else FEMALE_GIVEN
        rnd = self.rnd
        return rnd.choice(pool) + rnd.choice(pool) if rnd.random() < 0.7 else rnd.choice(pool)

    def full_name(self, sex: str | None = None) -> str:
        sex = sex or (Sex.MALE if self.rnd.random() < 0.5 else Sex.FEMALE)
        return self.surname() + self.given(sex)

    def birth_date(self, age: int) -> datetime.date:
        first, span = self.born_range[max(0, min(age, 110))]
        return datetime.date.fromordinal(first + self.rnd.randrange(span))

    def id_number(self, region: str, born: datetime.date, sex: str) -> str:
        """GB 11643: region (6), birth date (8), order (3, odd for men), check code."""
        stem = f"{region}{born.year:04d}{born.month:02d}{born.day:02d}"
        parity = 1 if sex == Sex.MALE else 0
        while True:
            first17 = f"{stem}{self.rnd.randrange(500) * 2 + parity:03d}"
            key = int(first17)
            if key not in self.taken:
                self.taken.add(key)
                return first17 + id_check_code(first17)

    def phone(self) -> str:
        return f"{self.rnd.choice(MOBILE_PREFIXES)}{self.rnd.randrange(100_000_000):08d}"

    def landline(self) -> str:
        return f"023-{self.rnd.randrange(60_000_000, 80_000_000)}"

    def person(
        self, household: str, relation: str, age: int, sex: str, surname: str, region: str
    ) -> PersonPlan:
        age = max(0, min(age, 104))
        born = self.birth_date(age)
        return PersonPlan(
            household=household,
            name=surname + self.given(sex),
            sex=sex,
            id_number=self.id_number(region, born, sex),
            birth_date=born,
            age=age,
            relation=relation,
        )

    # Household compositions -----------------------------------------------------------------------

    def members(self, number: str, size: int, *, rented: bool, region: str = COUNTY_CODE) -> list[PersonPlan]:
        """`size` people of one household, related as a household register would list them."""
        rnd = self.rnd
        out: list[PersonPlan] = []

        def add(relation, age, sex, surname):
            out.append(self.person(number, relation, age, sex, surname, region))
            return out[-1]

        def other(sex):
            return Sex.FEMALE if sex == Sex.MALE else Sex.MALE

        def couple(lo, hi):
            head_sex = Sex.MALE if rnd.random() < 0.85 else Sex.FEMALE
            age = rnd.randint(lo, hi)
            head_surname, spouse_surname = self.surname(), self.surname()
            head = add(Relation.HEAD, age, head_sex, head_surname)
            gap = rnd.randint(-2, 6)
            spouse_age = age - gap if head_sex == Sex.MALE else age + gap
            spouse = add(Relation.SPOUSE, max(20, spouse_age), other(head_sex), spouse_surname)
            family = head_surname if head_sex == Sex.MALE else spouse_surname
            mother = spouse if head_sex == Sex.MALE else head
            return head, mother, family

        def children(n, mother_age, family):
            for _ in range(n):
                child_age = mother_age - rnd.randint(21, 36)
                add(
                    Relation.CHILD, max(0, child_age), Sex.MALE if rnd.random() < 0.52 else Sex.FEMALE, family
                )

        def parents(n, head):  # the householder's: the father's surname is the householder's
            father_surname = head.name[0]
            age = head.age + rnd.randint(22, 34)
            if n == 2:
                add(Relation.PARENT, age + rnd.randint(0, 4), Sex.MALE, father_surname)
                add(Relation.PARENT, age, Sex.FEMALE, self.surname())
            else:
                sex = Sex.FEMALE if rnd.random() < 0.65 else Sex.MALE
                add(Relation.PARENT, age, sex, father_surname if sex == Sex.MALE else self.surname())

        if rented:
            if size == 1 or (size <= 3 and rnd.random() < 0.2):  # one worker, or workers sharing
                first = add(
                    Relation.HEAD,
                    rnd.randint(19, 50),
                    Sex.MALE if rnd.random() < 0.6 else Sex.FEMALE,
                    self.surname(),
                )
                for _ in range(size - 1):
                    sex = first.sex if rnd.random() < 0.8 else other(first.sex)
                    add(Relation.TENANT, max(18, first.age + rnd.randint(-5, 5)), sex, self.surname())
                return out
            head, mother, family = couple(22, 45)
            children(min(size - 2, 2), mother.age, family)
            if size == 5:
                parents(1, head)
            return out

        if size == 1:
            elderly = rnd.random() < 0.5
            sex = (
                (Sex.FEMALE if rnd.random() < 0.6 else Sex.MALE)
                if elderly
                else (Sex.MALE if rnd.random() < 0.6 else Sex.FEMALE)
            )
            add(Relation.HEAD, rnd.randint(60, 92) if elderly else rnd.randint(22, 59), sex, self.surname())
        elif size == 2:
            draw = rnd.random()
            if draw < 0.55:
                couple(55, 85)
            elif draw < 0.85:
                couple(23, 40)
            else:
                sex = Sex.FEMALE if rnd.random() < 0.6 else Sex.MALE
                head = add(Relation.HEAD, rnd.randint(35, 60), sex, self.surname())
                family = head.name[0] if sex == Sex.MALE else self.surname()
                children(1, head.age, family)
        elif size == 3:
            head, mother, family = couple(27, 62)
            if rnd.random() < 0.75:
                children(1, mother.age, family)
            else:
                parents(1, head)
        elif size == 4:
            head, mother, family = couple(28, 58)
            if rnd.random() < 0.65:
                children(2, mother.age, family)
            else:
                children(1, mother.age, family)
                parents(1, head)
        elif size == 5:
            head, mother, family = couple(28, 50)
            draw = rnd.random()
            if draw < 0.5:
                children(2, mother.age, family)
                parents(1, head)
            elif draw < 0.8:
                children(1, mother.age, family)
                parents(2, head)
            else:
                children(3, mother.age, family)
        else:
            if rnd.random() < 0.55:
                head, mother, family = couple(30, 50)
                children(2, mother.age, family)
                parents(2, head)
            else:  # three generations under an elderly householder
                head, mother, family = couple(56, 75)
                son_age = max(24, mother.age - rnd.randint(22, 32))
                add(Relation.CHILD, son_age, Sex.MALE, family)
                in_law = add(Relation.CHILD_IN_LAW, son_age + rnd.randint(-4, 1), Sex.FEMALE, self.surname())
                for _ in range(2):
                    grandchild_age = max(0, in_law.age - rnd.randint(21, 32))
                    sex = Sex.MALE if rnd.random() < 0.52 else Sex.FEMALE
                    add(Relation.GRANDCHILD, grandchild_age, sex, family)
        return out


def draw_size(rnd: random.Random, sizes: dict[int, float]) -> int:
    return rnd.choices(list(sizes), weights=list(sizes.values()))[0]


# --- planning ----------------------------------------------------------------------------------------


class _Planner:
    def __init__(self, plan: DemoPlan, seed: int, today: datetime.date):
        self.plan = plan
        self.today = today
        self.rnd = random.Random(f"wangge-demo-ledger:{seed}")
        self.gen = np.random.default_rng([seed, 4])
        self.people = People(self.rnd, today)
        self.ledger = LedgerPlan(today)
        self.units = {u.code: u for u in plan.units()}
        self.staff_at: dict[tuple[str, str], str] = {(s.unit, s.role): s.username for s in plan.staff}
        self.staff_name = {s.username: s.full_name for s in plan.staff}
        self.rural_grids = [
            u.code for u in plan.units() if u.level == "grid4" and u.area_type == AreaType.RURAL
        ]
        self.work = {
            AreaType.RURAL: weighted(self.rnd, RURAL_WORK),
            AreaType.URBAN: weighted(self.rnd, URBAN_WORK),
            "tenant": weighted(self.rnd, TENANT_WORK),
        }
        self.org_index: dict[tuple[str, str], int] = {}  # (unit code, kind) → party organisation
        self.stations: dict[str, PlacePlan] = {}  # village code → its 党群服务站

    def run(self) -> LedgerPlan:
        self.ledger.staff_phones = {s.username: self.people.phone() for s in self.plan.staff}
        villages = [u for u in self.plan.units() if u.level == "village"]
        by_village: dict[str, list[HouseholdPlan]] = defaultdict(list)
        for h in self.plan.households:
            by_village[h.grid[:12]].append(h)
        for village in villages:
            self.party_organisations(village)
        self.residents()
        self.party_members()
        self.rare_tags()
        self.special_records()
        self.key_persons()
        for village in villages:
            self.places(village, by_village[village.code])
            self.organisations(village)
        return self.ledger

    # Households and their members -----------------------------------------------------------------

    def residents(self) -> None:
        rnd = self.rnd
        households = self.plan.households
        urban = sum(1 for h in households if self.units[h.grid].area_type == AreaType.URBAN)
        share = urban / len(households) if households else 0
        # Rented and separated homes are commoner in the county seat; the shares hold over the county.
        rented = {AreaType.RURAL: RENTED_SHARE / (1 + 1.5 * share)}
        rented[AreaType.URBAN] = 2.5 * rented[AreaType.RURAL]
        separated = {AreaType.RURAL: SEPARATED_SHARE / (1 + 2 * share)}
        separated[AreaType.URBAN] = 3 * separated[AreaType.RURAL]
        self.migrant_share = min(0.5, MIGRANT_SHARE / max(0.05, 1 - share))
        for h in households:
            area = self.units[h.grid].area_type
            is_rented = rnd.random() < rented[area]
            size = draw_size(rnd, TENANT_SIZES if is_rented else OWNER_SIZES)
            if is_rented:
                from_outside = rnd.random() >= TENANTS_FROM_THE_COUNTY
                region, province = rnd.choice(ORIGINS) if from_outside else (COUNTY_CODE, "")
                members = self.people.members(h.number, size, rented=True, region=region)
                extra = HouseholdExtra(
                    h.number, landlord_name=self.people.full_name(), landlord_phone=self.people.phone()
                )
                if from_outside:
                    origin = self.origin_address(province)
                    for p in members:
                        p.residence_type, p.registered_address = ResidenceType.FLOATING, origin
                        p.tags += ("floating",)
                else:
                    grid = self.elsewhere(h.grid)
                    for p in members:
                        p.residence_type, p.registered_grid = ResidenceType.SEPARATED, grid
                        p.registered_address = self.address_in(grid)
                self.ledger.households.append(extra)
            else:
                members = self.people.members(h.number, size, rented=False)
                if rnd.random() < separated[area]:
                    grid = self.elsewhere(h.grid)
                    address = self.address_in(grid)
                    self.ledger.households.append(HouseholdExtra(h.number, registered_grid=grid))
                    for p in members:
                        p.residence_type, p.registered_grid, p.registered_address = (
                            ResidenceType.SEPARATED,
                            grid,
                            address,
                        )
                elif area == AreaType.RURAL:
                    self.migrants(members)
            self.describe(members, area, rented=is_rented)
            self.household_tags(members, area)
            self.ledger.people.extend(members)

    def elsewhere(self, grid: str) -> str:
        """A rural grid of another village: where people living in `grid` are registered."""
        for _attempt in range(100):
            code = self.rnd.choice(self.rural_grids)
            if code[:12] != grid[:12]:
                return code
        return next(code for code in self.rural_grids if code != grid)

    def address_in(self, grid: str) -> str:
        unit = self.units[grid]
        village = self.units[grid[:12]]
        township = self.units[grid[:9]]
        return f"{township.name}{village.name}{unit.name}{self.rnd.randint(1, 80)}号"

    def origin_address(self, province: str) -> str:
        taken: set[str] = set()
        county, town, village = (names.place_name(self.rnd, taken) for _ in range(3))
        return f"{province}{county}县{town}镇{village}村{self.rnd.randint(1, 12)}组"

    def migrants(self, members: list[PersonPlan]) -> None:
        """户在人不在: in some rural homes the husband, or both parents, work away; those at home are left behind."""
        rnd = self.rnd
        head = members[0]
        spouse = next((p for p in members if p.relation == Relation.SPOUSE), None)
        if spouse is None or not 20 <= head.age <= 52 or rnd.random() >= self.migrant_share:
            return
        husband, wife = (head, spouse) if head.sex == Sex.MALE else (spouse, head)
        away = [husband, wife] if rnd.random() < 0.5 else [husband]
        for p in away:
            p.residence_type = ResidenceType.ABROAD
        if len(away) == 1 and wife.age < 60:
            wife.tags += ("left_behind_woman",)
        for p in members:
            if p.residence_type == ResidenceType.ABROAD:
                continue
            if len(away) == 2 and p.age < 16 and p.relation == Relation.CHILD:
                p.tags += ("left_behind_child",)
            elif p.age >= 60 and all(
                q.age >= 60 or q.age < 16 or q.residence_type == ResidenceType.ABROAD for q in members
            ):
                p.tags += ("left_behind_elderly",)

    def describe(self, members: list[PersonPlan], area: str, *, rented: bool) -> None:
        """Ethnicity (shared by blood relatives), phones and occupations."""
        rnd = self.rnd
        ethnicity = self.people.ethnicity()
        work = self.work["tenant" if rented else area]
        for p in members:
            p.ethnicity = (
                ethnicity
                if p.relation not in (Relation.SPOUSE, Relation.CHILD_IN_LAW, Relation.TENANT)
                else self.people.ethnicity()
            )
            if p.age >= 16 and rnd.random() < (0.5 if p.age >= 80 else 0.97):
                p.phone = self.people.phone()
            if p.age < 3:
                p.occupation = "学龄前儿童"
            elif p.age < 6:
                p.occupation = "幼儿园"
            elif p.age < 18 or (p.age < 23 and rnd.random() < 0.55):
                p.occupation = "学生"
            elif p.residence_type == ResidenceType.ABROAD:
                p.occupation = "外出务工"
            elif p.age >= 60:
                p.occupation = (
                    "退休"
                    if area == AreaType.URBAN and not rented
                    else ("务农" if p.age < 75 and rnd.random() < 0.6 else "无")
                )
            else:
                p.occupation = work()

    def household_tags(self, members: list[PersonPlan], area: str) -> None:
        rnd = self.rnd
        rural = area == AreaType.RURAL
        for code, rural_share, urban_share in HOUSEHOLD_TAGS:
            if rnd.random() < (rural_share if rural else urban_share):
                for p in members:
                    p.tags += (code,)
        at_home = [p for p in members if p.residence_type != ResidenceType.ABROAD]
        elderly_only = bool(at_home) and all(p.age >= 60 for p in at_home)
        for p in members:
            if p.age >= 80:
                p.tags += ("advanced_age",)
            if p.age >= 65 and len(members) == 1:
                p.tags += ("living_alone_elderly",)
            elif p.age >= 65 and elderly_only and len(members) > 1 and "left_behind_elderly" not in p.tags:
                p.tags += ("empty_nest_elderly",)
            for limit, share in DISABLED_BY_AGE:
                if p.age < limit:
                    if rnd.random() < share:
                        p.tags += ("disabled",)
                    break
        alone = members[0]
        if len(members) == 1 and alone.age >= 60 and "dibao" not in alone.tags and rnd.random() < TEKUN_SHARE:
            alone.tags += ("tekun",)

    # Party members ----------------------------------------------------------------------------------

    def party_organisations(self, village: UnitPlan) -> None:
        """A 网格党支部 per village and a 党小组 per comprehensive 三级网格, contacts their secretaries."""
        branch = self.add_organisation(
            village.code,
            OrganisationKind.PARTY_BRANCH,
            f"{village.name}网格党支部",
            secretary=self.staff_at.get((village.code, Role.VILLAGE_ADMIN)),
        )
        self.org_index[village.code, OrganisationKind.PARTY_BRANCH] = branch
        for grid3 in village.children:
            if grid3.kind != UnitKind.COMPREHENSIVE:
                continue
            group = self.add_organisation(
                grid3.code,
                OrganisationKind.PARTY_GROUP,
                f"{village.name}{grid3.name}党小组",
                secretary=self.staff_at.get((grid3.code, Role.GRID_LEADER)),
            )
            self.org_index[grid3.code, OrganisationKind.PARTY_GROUP] = group

    def add_organisation(
        self, unit: str, kind: str, name: str, *, secretary: str | None = None, **fields
    ) -> int:
        if secretary:
            contact, phone = self.staff_name[secretary], self.ledger.staff_phones[secretary]
        else:
            contact, phone = self.people.full_name(), self.people.phone()
        fields.setdefault("address", self.units[unit[:12]].name if len(unit) >= 12 else "")
        self.ledger.organisations.append(
            OrganisationPlan(unit, kind, name, lng=fields.pop("lng", None), lat=fields.pop("lat", None),
                             contact_name=contact, contact_phone=phone, **fields)
        )  # fmt: skip
        return len(self.ledger.organisations) - 1

    def party_members(self) -> None:
        """≈7% of residents, only adults; men and older people more often. Members living here belong to
        their grid's 党小组 (or straight to the village's branch); floating members to their home branch."""
        rnd = self.rnd

        def weight(p: PersonPlan) -> float:
            if p.age < 18:
                return 0.0
            w = 1.5 if p.sex == Sex.MALE else 0.6
            return w * (0.4 if p.age < 26 else 1.3 if p.age >= 55 else 1.0)

        weights = [weight(p) for p in self.ledger.people]
        scale = PARTY_SHARE * len(weights) / (sum(weights) or 1)
        members: Counter = Counter()
        for p, w in zip(self.ledger.people, weights, strict=True):
            if w and rnd.random() < w * scale:
                p.political_status = (
                    PoliticalStatus.PROBATIONARY if rnd.random() < 0.05 else PoliticalStatus.PARTY_MEMBER
                )
                if p.residence_type == ResidenceType.FLOATING:
                    continue
                grid3 = p.household[:15]
                key = (grid3, OrganisationKind.PARTY_GROUP) if rnd.random() < 0.8 else None
                index = self.org_index.get(key) if key else None
                if index is None:
                    index = self.org_index[p.household[:12], OrganisationKind.PARTY_BRANCH]
                p.party_organisation = index
                members[index] += 1
            elif 14 <= p.age <= 28 and rnd.random() < 0.25:
                p.political_status = PoliticalStatus.LEAGUE_MEMBER
        for index, organisation in enumerate(self.ledger.organisations):
            organisation.member_count = members[index]

    # Rare tags, drawn as exact counts from those eligible ---------------------------------------------

    def sample(
        self, eligible: list[int], share_of_all: float, weights: list[float] | None = None
    ) -> list[int]:
        k = min(len(eligible), round(share_of_all * len(self.ledger.people)))
        if not k:
            return []
        if weights is None:
            return sorted(self.rnd.sample(eligible, k))
        chosen = self.gen.choice(len(eligible), size=k, replace=False, p=np.array(weights) / sum(weights))
        return sorted(eligible[i] for i in chosen.tolist())

    def rare_tags(self) -> None:
        people = self.ledger.people
        veterans = [i for i, p in enumerate(people) if p.sex == Sex.MALE and 25 <= p.age <= 70]
        share = VETERAN_SHARE * len(veterans) / len(people) if people else 0
        for i in self.sample(veterans, share):
            people[i].tags += ("veteran",)
        urban_adults = [
            i
            for i, p in enumerate(people)
            if p.age >= 18 and self.units[p.household[:15]].area_type == AreaType.URBAN
        ]
        riders = [
            i
            for i in urban_adults
            if 20 <= people[i].age <= 45 and people[i].occupation not in ("学生", "公务员")
        ]
        share = NEW_EMPLOYMENT_SHARE * len(urban_adults) / len(people) if people else 0
        for i in self.sample(riders, share):
            people[i].tags += ("new_employment",)
            people[i].occupation = self.rnd.choice(NEW_EMPLOYMENT_JOBS)

    def special_records(self) -> None:
        """Special-population tags with their records; at most one kind per person."""
        people = self.ledger.people
        used: set[int] = set()
        rules = {
            "released_prisoner": (lambda p: 25 <= p.age <= 65, lambda p: 9.0 if p.sex == Sex.MALE else 1.0),
            "community_correction": (
                lambda p: 20 <= p.age <= 60,
                lambda p: 6.0 if p.sex == Sex.MALE else 1.0,
            ),
            "severe_mental_disorder": (lambda p: 18 <= p.age <= 85, lambda p: 1.0),
            "drug_user": (lambda p: 20 <= p.age <= 55, lambda p: 4.0 if p.sex == Sex.MALE else 1.0),
            "key_youth": (lambda p: 12 <= p.age <= 22, lambda p: 3.0 if p.sex == Sex.MALE else 1.0),
        }
        households: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(people):
            households[p.household].append(i)
        for code, share in SPECIAL_SHARES.items():
            eligible, weight = rules[code]
            pool = [i for i, p in enumerate(people) if i not in used and eligible(p)]
            for i in self.sample(pool, share, [weight(people[i]) for i in pool]):
                used.add(i)
                people[i].tags += (code,)
                family = [people[j] for j in households[people[i].household] if j != i]
                self.ledger.specials.append(self.special(code, i, family))

    def special(self, code: str, i: int, family: list[PersonPlan]) -> SpecialPlan:
        rnd = self.rnd
        p = self.ledger.people[i]
        today = self.today

        def days_ago(lo, hi):
            return today - datetime.timedelta(days=rnd.randint(lo, hi))

        adults = [q for q in family if q.age >= 18 and q.phone]
        guardian = rnd.choice(adults) if adults else None
        helper = self.helper(p.household[:17])
        level = rnd.choices(AttentionLevel.values, weights=(1, 3, 6))[0]  # high, medium, low
        if code == "released_prisoner":
            release = days_ago(30, 5 * 365)
            risk = rnd.choices(ReleaseRisk.values, weights=(7, 2, 1))[0]
            handed_over = rnd.random() < 0.95
            resettled = rnd.random() < 0.85
            fields = {
                "original_offence": rnd.choice(OFFENCES),
                "sentence": f"有期徒刑{names.chinese_number(rnd.randint(1, 10))}年",
                "prison": f"{rnd.choice(('渝西', '渝北', '川东', '巴南', '三峡'))}监狱",
                "release_date": release,
                "risk": risk,
                "handed_over": handed_over,
                "handover_date": min(today, release + datetime.timedelta(days=rnd.randint(0, 10)))
                if handed_over
                else None,
                "resettled": resettled,
                "resettlement": rnd.choice(RESETTLEMENTS) if resettled else "",
                "reoffended": rnd.random() < 0.02,
            }
            notes = "每月走访一次，了解思想和就业情况，已落实帮教小组。"
            level = {ReleaseRisk.HIGH: AttentionLevel.HIGH, ReleaseRisk.MEDIUM: AttentionLevel.MEDIUM}.get(
                risk, level
            )
        elif code == "community_correction":
            start = days_ago(20, 2 * 365)
            fields = {
                "correction_number": f"{COUNTY_CODE}{start.year}{i % 10000:04d}",
                "correction_kind": rnd.choices(CorrectionKind.values, weights=(3, 80, 12, 5))[0],
                "original_offence": rnd.choice(OFFENCES),
                "start_date": start,
                "end_date": max(
                    today + datetime.timedelta(days=rnd.randint(30, 720)),
                    start + datetime.timedelta(days=180),
                ),
                "absconded": rnd.random() < 0.01,
                "missed": False,
                "reoffended": False,
            }
            notes = "按规定每周电话报告、每月当面报告，参加公益活动和教育学习。"
        elif code == "severe_mental_disorder":
            grade = rnd.choices(MentalRiskGrade.values, weights=(50, 28, 12, 6, 3, 1))[0]
            fields = {
                "diagnosis": rnd.choices(DIAGNOSES, weights=(55, 15, 8, 7, 8, 7))[0],
                "guardian_name": guardian.name if guardian else self.people.full_name(),
                "guardian_phone": guardian.phone if guardian else self.people.phone(),
                "risk_grade": grade,
                "treatment": rnd.choices(TreatmentStatus.values, weights=(8, 22, 65, 5))[0],
                "hospital": f"{self.plan.county.name}精神卫生中心"
                if rnd.random() < 0.7
                else f"{self.plan.county.name}人民医院",
                "in_assistance": rnd.random() < 0.8,
            }
            notes = "已签订监护责任书，按时随访服药情况，落实以奖代补。"
            level = (
                AttentionLevel.HIGH
                if int(grade) >= 3
                else AttentionLevel.MEDIUM
                if int(grade) >= 1
                else AttentionLevel.LOW
            )
        elif code == "drug_user":
            status = rnd.choices(DrugControlStatus.values, weights=(25, 30, 10, 30, 5))[0]
            fields = {
                "first_found": days_ago(180, 12 * 365),
                "control_status": status,
                "drug_kind": rnd.choices(DRUGS, weights=(30, 50, 15, 5))[0],
                "offending": rnd.random() < 0.05,
            }
            notes = "定期尿检，社区戒毒（康复）协议执行中，家属配合帮扶。"
            if status == DrugControlStatus.UNCONTROLLED:
                level = AttentionLevel.HIGH
        else:  # key_youth
            parents = [
                q for q in family if q.relation in (Relation.HEAD, Relation.SPOUSE) and q.age >= p.age + 15
            ]
            guardian = rnd.choice(parents) if parents else guardian
            kind = rnd.choices(YouthKind.values, weights=(40, 25, 5, 10, 20))[0]
            fields = {
                "youth_kind": kind,
                "guardian_name": guardian.name if guardian else "",
                "guardian_phone": guardian.phone if guardian and guardian.phone else "",
                "help_means": rnd.choice(YOUTH_HELP),
                "offending": rnd.random() < 0.03,
            }
            notes = "团委、学校和网格员共同帮扶，每月谈心一次。"
        return SpecialPlan(code, i, level, helper, notes, fields)

    def helper(self, grid4: str) -> str:
        """The grid's worker follows the people of their grid."""
        for role in (Role.GRID_WORKER_FULL_TIME, Role.GRID_WORKER_PART_TIME):
            if username := self.staff_at.get((grid4, role)):
                return self.staff_name[username]
        return self.people.full_name()

    # Key persons -------------------------------------------------------------------------------------

    def key_persons(self) -> None:
        """Listings in each state. A few applications wait in the 街道 (the demo township login approves
        them) and in other townships; listed ones carry the key_person tag, as approval gives it."""
        rnd = self.rnd
        people = self.ledger.people
        adults = [
            i
            for i, p in enumerate(people)
            if 20 <= p.age <= 75
            and p.residence_type != ResidenceType.ABROAD
            and not (set(p.tags) & set(SPECIAL_SHARES))
        ]
        street = self.plan.county.children[0].code  # the 街道, the demo township login's unit
        in_street = [i for i in adults if people[i].household.startswith(street)]
        elsewhere = [i for i in adults if not people[i].household.startswith(street)]
        listed = max(2, round(KEY_PERSON_SHARE * len(people)))
        states = (
            [(ListingState.APPLIED, True)] * 3
            + [(ListingState.DELISTING_APPLIED, True)]
            + [(ListingState.LISTED, True)] * 2
            + [(ListingState.APPLIED, False)] * max(1, listed // 40)
            + [(ListingState.DELISTING_APPLIED, False)] * max(1, listed // 60)
            + [(ListingState.DELISTED, False)] * max(1, listed // 4)
            + [(ListingState.REFUSED, False)] * max(1, listed // 20)
            + [(ListingState.LISTED, False)] * max(0, listed - 3)
        )
        picked: set[int] = set()
        for state, street_only in states:
            pool = in_street if street_only or not elsewhere else elsewhere
            i = rnd.choice(pool)
            while i in picked:
                i = rnd.choice(pool)
            picked.add(i)
            self.ledger.listings.append(self.listing(i, state))
            if state in (ListingState.LISTED, ListingState.DELISTING_APPLIED):
                people[i].tags += ("key_person",)

    def listing(self, i: int, state: str) -> ListingPlan:
        rnd = self.rnd
        p = self.ledger.people[i]
        village = p.household[:12]
        township = village[:9]
        applicant = self.staff_at[(village, Role.VILLAGE_ADMIN)]
        approver = self.staff_at[(township, Role.TOWNSHIP_ADMIN)]
        category = rnd.choices(KeyPersonCategory.values, weights=(35, 30, 15, 10, 10))[0]
        zone = timezone.get_default_timezone()

        def moment(days_ago: int) -> datetime.datetime:
            day = self.today - datetime.timedelta(days=days_ago)
            return datetime.datetime.combine(day, datetime.time(rnd.randint(9, 17), rnd.randint(0, 59)), zone)

        open_ = state in (ListingState.APPLIED, ListingState.DELISTING_APPLIED)
        applied_days = rnd.randint(1, 6) if state == ListingState.APPLIED else rnd.randint(60, 900)
        row = ListingPlan(
            person=i,
            category=category,
            reason=rnd.choice(KEY_PERSON_REASONS[category]),
            attention_level=rnd.choices(AttentionLevel.values, weights=(2, 5, 3))[0],
            state=state,
            applying_unit=village,
            applied_by=applicant,
            applied_at=moment(applied_days),
        )
        if state == ListingState.REFUSED:
            row.closed_by, row.closed_at = approver, moment(applied_days - rnd.randint(1, 5))
            row.decision_note = "经核实，矛盾已化解，暂不列管，由网格员继续关注。"
            return row
        if state == ListingState.APPLIED:
            return row
        row.listed_by, row.listed_at = approver, moment(applied_days - rnd.randint(1, 5))
        row.decision_note = "同意列管，落实包保责任人，每月走访。"
        if state in (ListingState.DELISTING_APPLIED, ListingState.DELISTED):
            delisting_days = rnd.randint(1, 6) if open_ else rnd.randint(10, 50)
            row.delisting_reason = rnd.choice(DELISTING_REASONS)
            row.delisting_applied_by, row.delisting_applied_at = applicant, moment(delisting_days)
            if state == ListingState.DELISTED:
                row.closed_by, row.closed_at = approver, moment(delisting_days - rnd.randint(1, 5))
                row.decision_note = "同意撤管，转为一般关注。"
        return row

    # Places and organisations ------------------------------------------------------------------------

    def points(self, unit: UnitPlan, n: int) -> list[tuple[float, float]]:
        if n <= 0:
            return []
        return [
            tuple(xy)
            for xy in points_inside(unit.geometry, n, uniform_draw(unit.geometry, self.gen), 7).tolist()
        ]

    def grid_of(self, village: UnitPlan, lng: float, lat: float) -> str:
        """The 四级网格 (or 三级) of the village containing a point; the village itself if none does."""
        for grid3 in village.children:
            for grid in grid3.children or [grid3]:
                if shapely.contains_xy(grid.geometry, lng, lat):
                    return grid.code
        return village.code

    def places(self, village: UnitPlan, households: list[HouseholdPlan]) -> None:
        rnd, people = self.rnd, self.people
        urban = village.area_type == AreaType.URBAN
        short = village.name[:-2] if urban else village.name[:-1]
        township = self.units[village.code[:9]]
        address = township.name + village.name
        added: set[tuple[str, str, str]] = set()

        def add(unit, kind, name, lng, lat, place_address="", risk="", notes="", contact=None):
            base, n = name, 1
            while (unit, kind, name) in added:
                n += 1
                name = f"{base}（{names.chinese_number(n)}）"
            added.add((unit, kind, name))
            contact_name, contact_phone = contact or (people.full_name(), people.phone())
            self.ledger.places.append(
                PlacePlan(
                    unit,
                    kind,
                    name,
                    place_address or address,
                    lng,
                    lat,
                    contact_name,
                    contact_phone,
                    risk,
                    notes,
                )
            )

        count = len(households)
        station, school, clinic, *spots = self.points(
            village, 3 + (0 if urban else rnd.randint(1, 3)) + rnd.randint(1, 2)
        )
        secretary = self.staff_at.get((village.code, Role.VILLAGE_ADMIN))
        duty = (self.staff_name[secretary], people.landline()) if secretary else None
        add(village.code, PlaceKind.SERVICE_STATION, f"{village.name}党群服务站", *station, contact=duty,
            notes="办公时间：工作日 8:30–12:00，14:00–18:00")  # fmt: skip
        self.stations[village.code] = self.ledger.places[-1]
        if urban:
            add(village.code, PlaceKind.SCHOOL, f"{short}幼儿园", *school)
            if count > 1500 or rnd.random() < 0.5:
                add(village.code, PlaceKind.SCHOOL, f"{short}小学", *school)
            add(village.code, PlaceKind.HOSPITAL, f"{village.name}卫生服务站", *clinic)
            for lng, lat in spots:
                kind = rnd.choice((PlaceKind.KEY_SITE, PlaceKind.CONSTRUCTION_SITE, PlaceKind.HAZARD_SOURCE))
                label = rnd.choice(URBAN_SITES[kind])
                add(self.grid_of(village, lng, lat), kind, f"{short}{label}", lng, lat, risk=RiskLevel.MEDIUM)
            self.blocks(village, households)
        else:
            if count > 300 or rnd.random() < 0.4:
                add(village.code, PlaceKind.SCHOOL, f"{short}村小学", *school)
            add(village.code, PlaceKind.HOSPITAL, f"{village.name}卫生室", *clinic)
            for j, (lng, lat) in enumerate(spots):
                grid = self.grid_of(village, lng, lat)
                label = self.units[grid].name if grid != village.code else short
                if j % 2 == 0:
                    kind_name = rnd.choice(("滑坡", "崩塌", "泥石流", "地面塌陷"))
                    risk = rnd.choices(RISKS, weights=(2, 4, 4))[0]
                    add(grid, PlaceKind.GEOHAZARD, f"{label}{kind_name}隐患点", lng, lat, risk=risk,
                        notes="汛期每日巡查，已落实群测群防监测员。")  # fmt: skip
                else:
                    water = rnd.choice(("饮用水源地", "山坪塘", "蓄水池", "提灌站"))
                    add(grid, PlaceKind.WATER_SOURCE, f"{label}{water}", lng, lat, risk=RiskLevel.LOW)
        # Shops at some of the homes (a shop on the ground floor, or a village house's front room).
        shops = max(1, min(20 if urban else 6, count // (60 if urban else 120)))
        for h in rnd.sample(households, min(shops, len(households))):
            kind_name = rnd.choice(URBAN_SHOPS if urban else RURAL_SHOPS)
            owner = people.surname()
            add(h.grid, PlaceKind.SHOP, f"{owner}记{kind_name}", h.lng, h.lat, place_address=h.address)

    def blocks(self, village: UnitPlan, households: list[HouseholdPlan]) -> None:
        """楼栋: the apartment buildings the urban households live in (a building's flats share its point)."""
        prefix = len(self.units[village.code[:9]].name + village.name)
        buildings: dict[tuple[str, str], list[HouseholdPlan]] = {}
        for h in households:
            cut = h.address.find("栋")
            if cut > 0:
                buildings.setdefault((h.grid, h.address[: cut + 1]), []).append(h)
        for (grid, address), flats in buildings.items():
            self.ledger.places.append(
                PlacePlan(
                    grid,
                    PlaceKind.BLOCK,
                    address[prefix:],
                    address,
                    flats[0].lng,
                    flats[0].lat,
                    self.people.full_name(),
                    self.people.phone(),
                    notes=f"共{len(flats)}户",
                )
            )

    def organisations(self, village: UnitPlan) -> None:
        rnd = self.rnd
        urban = village.area_type == AreaType.URBAN
        short = village.name[:-2] if urban else village.name[:-1]
        station = self.stations[village.code]
        where = {"lng": station.lng, "lat": station.lat, "address": station.address}
        branch = self.ledger.organisations[self.org_index[village.code, OrganisationKind.PARTY_BRANCH]]
        branch.lng, branch.lat, branch.address = station.lng, station.lat, station.address
        councils = (
            (OrganisationKind.VILLAGERS_COUNCIL, "居民议事会" if urban else "村民议事会"),
            (OrganisationKind.WEDDINGS_FUNERALS, "红白理事会"),
            (OrganisationKind.MORAL_REVIEW, "道德评议会"),
            (OrganisationKind.ANTI_DRUGS_GAMBLING, "禁毒禁赌会"),
            (OrganisationKind.VOLUNTEERS, "志愿服务队"),
        )
        for kind, label in councils:
            self.add_organisation(
                village.code, kind, f"{village.name}{label}", member_count=rnd.randint(5, 15), **where
            )
        pool = URBAN_ORGANISATIONS if urban else RURAL_ORGANISATIONS
        for kind, label in rnd.sample(pool, rnd.randint(2, 4)):
            self.add_organisation(village.code, kind, f"{short}{label}", member_count=rnd.randint(3, 60),
                                  address=station.address)  # fmt: skip


RISKS = (RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW)
OFFENCES = ("盗窃罪", "故意伤害罪", "诈骗罪", "危险驾驶罪", "寻衅滋事罪", "交通肇事罪", "非法吸收公众存款罪",
            "贩卖毒品罪", "开设赌场罪", "抢劫罪", "聚众斗殴罪", "帮助信息网络犯罪活动罪")  # fmt: skip
RESETTLEMENTS = (
    "在本村务农",
    "在县城企业务工",
    "自主经营小卖部",
    "外出务工，定期电话联系",
    "参加技能培训后就业",
)
DIAGNOSES = (
    "精神分裂症",
    "双相情感障碍",
    "偏执性精神病",
    "分裂情感性障碍",
    "癫痫所致精神障碍",
    "精神发育迟滞伴发精神障碍",
)
DRUGS = ("海洛因", "甲基苯丙胺（冰毒）", "氯胺酮", "大麻")
YOUTH_HELP = ("结对帮扶，每月谈心", "联系学校复学", "技能培训和就业推荐", "家庭教育指导", "心理疏导")
KEY_PERSON_REASONS = {
    KeyPersonCategory.PETITION: ("因土地补偿问题多次越级上访。", "对征地拆迁安置不满，反复信访。"),
    KeyPersonCategory.DISPUTE: ("与邻居因宅基地界线纠纷多次发生冲突。", "家庭财产纠纷激化，扬言报复。"),
    KeyPersonCategory.PUBLIC_ORDER: ("多次酒后滋事，扰乱公共秩序。", "经常聚众赌博，屡教不改。"),
    KeyPersonCategory.EXTREME_RISK: (
        "生意失败后情绪低落，有过激言论。",
        "婚姻破裂后情绪不稳，曾有过激行为。",
    ),
    KeyPersonCategory.OTHER: ("长期无业，生活困难，情绪不稳定。", "社会交往复杂，需要持续关注。"),
}
DELISTING_REASONS = (
    "矛盾纠纷已调解化解，连续六个月无异常。",
    "诉求已依法解决，本人签字息访。",
    "已稳定就业，表现良好。",
)
URBAN_SHOPS = ("超市", "便利店", "药店", "餐馆", "五金店", "理发店", "快递驿站", "水果店", "茶楼", "火锅店")
RURAL_SHOPS = ("小卖部", "农资店", "小超市", "粮油店", "面馆", "农家乐")
URBAN_SITES = {
    PlaceKind.KEY_SITE: ("变电站", "通信基站", "燃气调压站"),
    PlaceKind.CONSTRUCTION_SITE: ("安置房建设工地", "道路改造工地", "老旧小区改造工地"),
    PlaceKind.HAZARD_SOURCE: ("加油站", "液化气供应站"),
}
URBAN_ORGANISATIONS = (
    (OrganisationKind.ENTERPRISE, "物业服务有限公司"),
    (OrganisationKind.SOCIAL, "老年人协会"),
    (OrganisationKind.SOCIAL, "文体协会"),
    (OrganisationKind.SOCIAL, "社会工作服务站"),
    (OrganisationKind.NEW_ECONOMIC, "快递物流行业党群驿站"),
    (OrganisationKind.ENTERPRISE, "商贸有限公司"),
)
RURAL_ORGANISATIONS = (
    (OrganisationKind.NEW_ECONOMIC, "茶叶专业合作社"),
    (OrganisationKind.NEW_ECONOMIC, "中药材专业合作社"),
    (OrganisationKind.NEW_ECONOMIC, "生猪养殖专业合作社"),
    (OrganisationKind.ENTERPRISE, "农业开发有限公司"),
    (OrganisationKind.ENTERPRISE, "建材有限公司"),
    (OrganisationKind.SOCIAL, "老年人协会"),
)


def plan_ledger(plan: DemoPlan, seed: int, today: datetime.date) -> LedgerPlan:
    """The ledgers of the county `plan` as data, without touching the database."""
    return _Planner(plan, seed, today).run()


# --- loading -----------------------------------------------------------------------------------------


STAMPS = ("created_at", "updated_at")
ORGANISATION_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "unit_id",
    "kind",
    "name",
    "address",
    "lng",
    "lat",
    "contact_name",
    "contact_phone",
    "member_count",
    "notes",
]
PLACE_COLUMNS = [
    "created_at",
    "updated_at",
    "unit_id",
    "kind",
    "name",
    "address",
    "lng",
    "lat",
    "contact_name",
    "contact_phone",
    "risk_level",
    "notes",
]
RESIDENT_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "household_id",
    "name",
    "sex",
    "id_number",
    "id_number_index",
    "birth_date",
    "phone",
    "phone_index",
    "relation",
    "ethnicity",
    "residence_type",
    "registered_grid_id",
    "registered_address",
    "occupation",
    "political_status",
    "party_organisation_id",
    "status",
    "notes",
]
SPECIAL_COLUMNS = [
    "created_at",
    "updated_at",
    "resident_id",
    "attention_level",
    "helper_name",
    "help_notes",
    "is_closed",
]
LISTING_COLUMNS = [
    "created_at",
    "updated_at",
    "resident_id",
    "category",
    "reason",
    "attention_level",
    "state",
    "applying_unit_id",
    "applied_by_id",
    "applied_at",
    "listed_by_id",
    "listed_at",
    "delisting_reason",
    "delisting_applied_by_id",
    "delisting_applied_at",
    "closed_by_id",
    "closed_at",
    "decision_note",
]
HOUSEHOLD_UPDATE = (
    "UPDATE {} SET registered_grid_id = %s, is_rental = %s, landlord_name = %s, landlord_phone = %s, "
    "landlord_phone_index = %s WHERE id = %s"
)


def insert(model, columns: Sequence[str], rows: Iterable[Sequence], ready: Sequence[str] = STAMPS) -> int:
    """INSERT rows given as tuples in the order of `columns` (attnames) with `executemany`.

    Values a field stores differently from their Python form go through that field's own preparation:
    encrypted text is encrypted by `EncryptedTextField.get_prep_value`, dates, datetimes and JSON are
    adapted for the backend. Everything else (text, numbers, booleans, ids) is passed as it is, and so are the
    columns in `ready`, which the caller prepared once (the timestamps every row shares: `stamp(now)`).
    """
    meta = model._meta
    fields = [next(f for f in meta.concrete_fields if f.attname == name) for name in columns]
    prepare: list[Callable | None] = []
    for f in fields:
        if f.attname in ready:
            prepare.append(None)
        elif f.get_internal_type() == "DateField":
            prepare.append(connection.ops.adapt_datefield_value)
        elif isinstance(f, EncryptedTextField) or f.get_internal_type() in ("DateTimeField", "JSONField"):
            prepare.append(lambda value, f=f: f.get_db_prep_save(value, connection))
        else:
            prepare.append(None)
    ops = connection.ops
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        ops.quote_name(meta.db_table),
        ", ".join(ops.quote_name(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    count = 0
    with connection.cursor() as cursor:
        for batch in batched(rows, BATCH):
            values = [
                [v if p is None or v is None else p(v) for p, v in zip(prepare, row, strict=True)]
                for row in batch
            ]
            cursor.executemany(sql, values)
            count += len(batch)
    return count


def stamp(moment: datetime.datetime):
    """A datetime as the backend stores it, for `insert`'s ready columns."""
    return Resident._meta.get_field("created_at").get_db_prep_save(moment, connection)


def next_id(model) -> int:
    top = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (top or 0) + 1


def index_of(kind: str, value: str) -> str:
    return blind_index(kind, value) if value else ""


SPECIAL_MODELS = {
    model.tag_code: model
    for model in (
        ReleasedPrisonerRecord,
        CommunityCorrectionRecord,
        MentalHealthRecord,
        DrugUserRecord,
        KeyYouthRecord,
    )
}


class _Loader:
    """Writes a ledger plan; a handful of queries read the ids, the rest is `executemany`."""

    def __init__(self, ledger: LedgerPlan):
        self.ledger = ledger
        self.now = stamp(timezone.now())
        self.units = dict(Unit.objects.values_list("code", "pk"))
        self.households = dict(Household.objects.values_list("number", "pk"))
        self.users = dict(User.objects.values_list("username", "pk"))
        self.tags = dict(AttentionTag.objects.values_list("code", "pk"))
        self.first_organisation = next_id(Organisation)
        self.first_resident = next_id(Resident)

    def run(self) -> dict[str, int]:
        ledger, counts = self.ledger, {}
        large_cache()  # half a million rows into four indexes keyed by random hashes and names
        self.update_staff_and_households()
        counts["households updated"] = len(ledger.households)
        counts["organisations"] = insert(
            Organisation,
            ORGANISATION_COLUMNS,
            map(self.organisation_row, ledger.organisations, itertools.count()),
        )
        counts["places"] = insert(Place, PLACE_COLUMNS, map(self.place_row, ledger.places))
        counts["residents"] = insert(
            Resident, RESIDENT_COLUMNS, map(self.resident_row, ledger.people, itertools.count())
        )
        first = self.first_resident
        tag_rows = (
            (first + i, self.tags[c]) for i, p in enumerate(ledger.people) for c in p.tags if c in self.tags
        )
        counts["attention tags"] = insert(Resident.tags.through, ("resident_id", "attentiontag_id"), tag_rows)
        for code, model in SPECIAL_MODELS.items():
            specials = [s for s in ledger.specials if s.kind == code]
            if specials:
                own = tuple(specials[0].fields)
                rows = (self.special_row(s, own) for s in specials)
                counts[f"{code} records"] = insert(model, (*SPECIAL_COLUMNS, *own), rows)
        counts["key person listings"] = insert(
            KeyPersonListing, LISTING_COLUMNS, map(self.listing_row, ledger.listings)
        )
        reset_sequences(Organisation, Resident)
        return counts

    def update_staff_and_households(self) -> None:
        quote = connection.ops.quote_name
        encrypt = Household._meta.get_field("landlord_phone").get_db_prep_save
        staff = [
            (phone, self.users[name])
            for name, phone in self.ledger.staff_phones.items()
            if name in self.users
        ]
        households = [
            (
                self.units[h.registered_grid] if h.registered_grid else None,
                bool(h.landlord_name),
                h.landlord_name,
                encrypt(h.landlord_phone, connection) if h.landlord_phone else "",
                index_of(PHONE_INDEX_KIND, h.landlord_phone),
                self.households[h.number],
            )
            for h in self.ledger.households
        ]
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {quote(User._meta.db_table)} SET phone = %s WHERE id = %s", staff)
            cursor.executemany(HOUSEHOLD_UPDATE.format(quote(Household._meta.db_table)), households)

    def organisation_row(self, o: OrganisationPlan, i: int) -> tuple:
        return (
            self.first_organisation + i, self.now, self.now, self.units[o.unit], o.kind, o.name, o.address,
            o.lng, o.lat, o.contact_name, o.contact_phone, o.member_count, o.notes,
        )  # fmt: skip

    def place_row(self, p: PlacePlan) -> tuple:
        return (
            self.now, self.now, self.units[p.unit], p.kind, p.name, p.address, p.lng, p.lat, p.contact_name,
            p.contact_phone, p.risk_level, p.notes,
        )  # fmt: skip

    def resident_row(self, p: PersonPlan, i: int) -> tuple:
        organisation = (
            None if p.party_organisation is None else self.first_organisation + p.party_organisation
        )
        return (
            self.first_resident + i, self.now, self.now, self.households[p.household], p.name, p.sex,
            p.id_number, blind_index(ID_INDEX_KIND, p.id_number), p.birth_date, p.phone,
            index_of(PHONE_INDEX_KIND, p.phone), p.relation, p.ethnicity, p.residence_type,
            self.units[p.registered_grid] if p.registered_grid else None, p.registered_address, p.occupation,
            p.political_status, organisation, ResidentStatus.PRESENT, "",
        )  # fmt: skip

    def special_row(self, s: SpecialPlan, own: tuple[str, ...]) -> tuple:
        resident = self.first_resident + s.person
        common = (self.now, self.now, resident, s.attention_level, s.helper_name, s.help_notes, False)
        return (*common, *(s.fields[name] for name in own))

    def listing_row(self, k: ListingPlan) -> tuple:
        user = self.users.get
        return (
            self.now, self.now, self.first_resident + k.person, k.category, k.reason, k.attention_level, k.state,
            self.units[k.applying_unit], user(k.applied_by), k.applied_at, user(k.listed_by), k.listed_at,
            k.delisting_reason, user(k.delisting_applied_by), k.delisting_applied_at, user(k.closed_by),
            k.closed_at, k.decision_note,
        )  # fmt: skip


def load_ledger(ledger: LedgerPlan) -> dict[str, int]:
    """Write a ledger plan into the database holding its county (units, staff and households loaded).
    Call inside a transaction. Returns row counts."""
    return _Loader(ledger).run()


LEDGER_MODELS = (
    Household,
    Resident,
    Resident.tags.through,
    Place,
    Organisation,
    *SPECIAL_MODELS.values(),
    KeyPersonListing,
)


@dataclass
class LedgerSummary:
    counts: dict[str, int]
    households: int
    plan_seconds: float
    load_seconds: float

    def lines(self) -> list[str]:
        c = self.counts
        per = c["residents"] / self.households if self.households else 0
        specials = sum(v for k, v in c.items() if k.endswith("records"))
        return [
            f"Ledgers: {c['residents']} residents ({per:.2f} a household), {c['attention tags']} attention "
            f"tags, {specials} special-population records, {c['key person listings']} key-person listings, "
            f"{c['places']} places, {c['organisations']} organisations.",
            f"Ledgers planned in {self.plan_seconds:.1f} s, loaded in {self.load_seconds:.1f} s.",
        ]


# Households fall into buckets by id: most were reviewed (核查) in one of the last twelve months, a few
# longer ago, a few never, so dossiers show a real review share and the overdue lists are not empty.
REVIEW_BUCKETS = 16
REVIEW_MONTHS_AGO = {**{bucket: bucket for bucket in range(12)}, 12: 15, 13: 20}  # 14 and 15: never


def stamp_reviews(today: datetime.date) -> None:
    moment = timezone.make_aware(datetime.datetime.combine(today, datetime.time(10, 0)))
    households = Household.objects.alias(bucket=Mod("id", REVIEW_BUCKETS))
    for bucket, months in REVIEW_MONTHS_AGO.items():
        households.filter(bucket=bucket).update(reviewed_at=moment - datetime.timedelta(days=30 * months + 3))


def build_ledger(plan: DemoPlan, seed: int, today: datetime.date | None = None) -> LedgerSummary:
    """Plan and load the ledgers of the county just loaded from `plan`; run it in the demo's transaction."""
    started = time.perf_counter()
    ledger = plan_ledger(plan, seed, today or timezone.localdate())
    planned = time.perf_counter()
    counts = load_ledger(ledger)
    stamp_reviews(today or timezone.localdate())
    analyze(*LEDGER_MODELS)
    loaded = time.perf_counter()
    return LedgerSummary(counts, len(plan.households), planned - started, loaded - planned)
