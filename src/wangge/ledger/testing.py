"""A small ledger on the crafted test county (core.testing), written through the services.

cell_a11 (一格, grid_worker's):  household A11-1 (张伟 householder, 李娜 spouse, 张小明 child 低保)
                                  household A11-2 rented out, landlord 王房东
cell_a12 (二格):                  household A12-1 (赵强, party member of the 甲一村 party branch)
grid_b1 (乙一村网格):              household B1-1 (孙丽), registered in cell_a11 (dual grid)
village_a: party branch 甲一村网格党支部, place 甲一村党群服务站; village_b: place 乙一村小学
"""

from __future__ import annotations

from types import SimpleNamespace

from wangge.core.pii import id_check_code

from . import services
from .choices import OrganisationKind, PlaceKind, PoliticalStatus, Relation, ResidenceType
from .models import AttentionTag


def make_id_number(region: str = "500229", born: str = "19900307", order: str = "123") -> str:
    """A valid 18-digit ID number (GB 11643) for tests and the demo."""
    first17 = f"{region}{born}{order}"
    return first17 + id_check_code(first17)


def build_ledger_world(county) -> SimpleNamespace:
    admin = county.users.sysadmin
    tags = {tag.code: tag for tag in AttentionTag.objects.all()}
    branch = services.create_organisation(
        by=admin, unit=county.village_a, kind=OrganisationKind.PARTY_BRANCH, name="甲一村网格党支部"
    )
    station = services.create_place(
        by=admin,
        unit=county.village_a,
        kind=PlaceKind.SERVICE_STATION,
        name="甲一村党群服务站",
        lng=108.03,
        lat=31.05,
        contact_name="周站长",
        contact_phone="02312345678",
    )
    school = services.create_place(by=admin, unit=county.village_b, kind=PlaceKind.SCHOOL, name="乙一村小学")

    a11_1 = services.create_household(
        by=admin, number="A11-1", grid=county.cell_a11, address="一格1号", lng=108.01, lat=31.05
    )
    a11_2 = services.create_household(
        by=admin,
        number="A11-2",
        grid=county.cell_a11,
        address="一格2号",
        is_rental=True,
        landlord_name="王房东",
        landlord_phone="13900001111",
    )
    a12_1 = services.create_household(by=admin, number="A12-1", grid=county.cell_a12, address="二格1号")
    b1_1 = services.create_household(
        by=admin, number="B1-1", grid=county.grid_b1, registered_grid=county.cell_a11, address="乙一村1号"
    )

    zhang = services.create_resident(
        by=admin,
        household=a11_1,
        name="张伟",
        id_number=make_id_number(born="19700101", order="111"),
        phone="13800001234",
        relation=Relation.HEAD,
    )
    li = services.create_resident(
        by=admin,
        household=a11_1,
        name="李娜",
        id_number=make_id_number(born="19720202", order="222"),
        relation=Relation.SPOUSE,
    )
    child = services.create_resident(
        by=admin,
        household=a11_1,
        name="张小明",
        id_number=make_id_number(born="20150505", order="331"),
        relation=Relation.CHILD,
        tags=[tags["dibao"], tags["left_behind_child"]],
    )
    tenant = services.create_resident(
        by=admin,
        household=a11_2,
        name="陈租客",
        id_number=make_id_number(region="510102", born="19950909", order="441"),
        relation=Relation.TENANT,
        residence_type=ResidenceType.FLOATING,
        tags=[tags["floating"]],
    )
    zhao = services.create_resident(
        by=admin,
        household=a12_1,
        name="赵强",
        id_number=make_id_number(born="19650606", order="551"),
        phone="13700005678",
        relation=Relation.HEAD,
        political_status=PoliticalStatus.PARTY_MEMBER,
        party_organisation=branch,
    )
    sun = services.create_resident(
        by=admin,
        household=b1_1,
        name="孙丽",
        id_number=make_id_number(born="19800808", order="662"),
        relation=Relation.HEAD,
        residence_type=ResidenceType.SEPARATED,
    )
    return SimpleNamespace(
        tags=tags,
        branch=branch,
        station=station,
        school=school,
        households=SimpleNamespace(a11_1=a11_1, a11_2=a11_2, a12_1=a12_1, b1_1=b1_1),
        residents=SimpleNamespace(zhang=zhang, li=li, child=child, tenant=tenant, zhao=zhao, sun=sun),
    )
