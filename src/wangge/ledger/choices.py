"""Fixed vocabularies of the ledgers. Lists an administrator edits (attention tags) are tables instead."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class HouseholdStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed (销户)")


class Sex(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Relation(models.TextChoices):
    """与户主关系, the categories of the household register."""

    HEAD = "head", _("Householder")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    CHILD_IN_LAW = "child_in_law", _("Son- or daughter-in-law")
    GRANDCHILD = "grandchild", _("Grandchild")
    PARENT = "parent", pgettext_lazy("relation", "Parent")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Sibling")
    TENANT = "tenant", _("Tenant")
    OTHER = "other", _("Other")


class ResidenceType(models.TextChoices):
    """户籍与居住: whether the person lives where they are registered (GRID-8)."""

    REGISTERED = "registered", _("Registered and living here (人户一致)")
    SEPARATED = "separated", _("Registered elsewhere in the county (人户分离)")
    FLOATING = "floating", _("Floating population (流动人口)")
    ABROAD = "abroad", _("Registered here, living away (户在人不在)")


class PoliticalStatus(models.TextChoices):
    PARTY_MEMBER = "party_member", _("Communist Party member")
    PROBATIONARY = "probationary", _("Probationary Party member")
    LEAGUE_MEMBER = "league_member", _("Communist Youth League member")
    DEMOCRATIC_PARTY = "democratic_party", _("Member of a democratic party")
    MASSES = "masses", _("Masses (群众)")


PARTY_STATUSES = frozenset({PoliticalStatus.PARTY_MEMBER, PoliticalStatus.PROBATIONARY})


class ResidentStatus(models.TextChoices):
    PRESENT = "present", _("On the register")
    MOVED_OUT = "moved_out", _("Moved out")
    DECEASED = "deceased", _("Deceased")


class TagGroup(models.TextChoices):
    CARE = "care", _("Care and assistance")
    SPECIAL = "special", _("Special population")
    OTHER = "other", _("Other")


class PlaceKind(models.TextChoices):
    BUILDING = "building", _("Building")
    BLOCK = "block", _("Apartment block (楼栋)")
    HOUSE = "house", _("House")
    SHOP = "shop", _("Shop")
    SCHOOL = "school", _("School")
    HOSPITAL = "hospital", _("Hospital or clinic")
    ENTERPRISE = "enterprise", _("Enterprise premises")
    CONSTRUCTION_SITE = "construction_site", _("Construction site")
    HAZARD_SOURCE = "hazard_source", _("Hazard source (危险源)")
    KEY_SITE = "key_site", _("Key site (重点部位)")
    WATER_SOURCE = "water_source", _("Water source")
    GEOHAZARD = "geohazard", _("Geological hazard point (地灾点)")
    SERVICE_STATION = "service_station", _("Party and public service station (党群服务站)")
    OTHER = "other", _("Other")


class RiskLevel(models.TextChoices):
    NONE = "", _("Not assessed")
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class OrganisationKind(models.TextChoices):
    PARTY_BRANCH = "party_branch", _("Grid party branch (网格党支部)")
    PARTY_GROUP = "party_group", _("Party group (党小组)")
    SOCIAL = "social", _("Social organisation")
    ENTERPRISE = "enterprise", _("Enterprise")
    NEW_ECONOMIC = "new_economic", _("New economic or social organisation (两新组织)")
    VILLAGERS_COUNCIL = "villagers_council", _("Villagers' council (村民议事会)")
    WEDDINGS_FUNERALS = "weddings_funerals", _("Weddings and funerals council (红白理事会)")
    MORAL_REVIEW = "moral_review", _("Moral review council (道德评议会)")
    ANTI_DRUGS_GAMBLING = "anti_drugs_gambling", _("Anti-drugs and anti-gambling association (禁毒禁赌会)")
    VOLUNTEERS = "volunteers", _("Volunteer team")
    OTHER = "other", _("Other")


PARTY_ORGANISATION_KINDS = frozenset({OrganisationKind.PARTY_BRANCH, OrganisationKind.PARTY_GROUP})


class AttentionLevel(models.TextChoices):
    """关注程度 of GB/T 31000-2015: how closely a special-population record is followed."""

    HIGH = "high", _("High (严重)")
    MEDIUM = "medium", _("Medium (中等)")
    LOW = "low", _("Low (一般)")


class ReleaseRisk(models.TextChoices):
    LOW = "low", _("Low risk")
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")


class CorrectionKind(models.TextChoices):
    """矫正类别."""

    SUPERVISION = "supervision", _("Public surveillance (管制)")
    PROBATION = "probation", _("Probation (缓刑)")
    PAROLE = "parole", _("Parole (假释)")
    MEDICAL_PAROLE = "medical_parole", _("Temporary service outside prison (暂予监外执行)")


class MentalRiskGrade(models.TextChoices):
    """危险性评估等级 of the national management rules for severe mental disorders (0–5 级)."""

    G0 = "0", _("Grade 0")
    G1 = "1", _("Grade 1")
    G2 = "2", _("Grade 2")
    G3 = "3", _("Grade 3")
    G4 = "4", _("Grade 4")
    G5 = "5", _("Grade 5")


class TreatmentStatus(models.TextChoices):
    NONE = "none", _("Not treated")
    INTERMITTENT = "intermittent", _("Intermittent treatment")
    OUTPATIENT = "outpatient", _("Regular outpatient treatment")
    INPATIENT = "inpatient", _("In hospital")


class DrugControlStatus(models.TextChoices):
    """管控情况."""

    COMMUNITY_DETOX = "community_detox", _("Community detoxification (社区戒毒)")
    COMMUNITY_REHAB = "community_rehab", _("Community rehabilitation (社区康复)")
    COMPULSORY = "compulsory", _("Compulsory isolated detoxification (强制隔离戒毒)")
    ABSTINENT = "abstinent", _("Abstinent for three years without relapse")
    UNCONTROLLED = "uncontrolled", _("Not under control")


class YouthKind(models.TextChoices):
    """重点青少年 人员类型: the five groups of GB/T 31000."""

    IDLE = "idle", _("Idle youth out of school and work (闲散青少年)")
    BAD_BEHAVIOUR = "bad_behaviour", _("Youth with bad or serious bad behaviour")
    VAGRANT = "vagrant", _("Runaway or begging youth")
    CHILD_OF_PRISONER = "child_of_prisoner", _("Minor child of a person serving a sentence")
    LEFT_BEHIND = "left_behind", _("Left-behind child in need")


class KeyPersonCategory(models.TextChoices):
    PETITION = "petition", _("Persistent petitioner (信访重点)")
    DISPUTE = "dispute", _("Party to a serious dispute")
    PUBLIC_ORDER = "public_order", _("Public order concern")
    EXTREME_RISK = "extreme_risk", _("Risk of extreme behaviour (个人极端)")
    OTHER = "other", _("Other")


class ListingState(models.TextChoices):
    """重点人员 lifecycle: 列管申请 → 已列管 → 撤管申请 → 已撤管 (or refused)."""

    APPLIED = "applied", _("Listing applied for (列管申请)")
    LISTED = "listed", _("Listed (已列管)")
    DELISTING_APPLIED = "delisting_applied", _("Delisting applied for (撤管申请)")
    DELISTED = "delisted", _("Delisted (已撤管)")
    REFUSED = "refused", _("Listing refused")


OPEN_LISTING_STATES = frozenset({ListingState.APPLIED, ListingState.LISTED, ListingState.DELISTING_APPLIED})
