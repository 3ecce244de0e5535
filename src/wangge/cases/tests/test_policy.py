"""Who may take which step, for every role, in every state of the loop (CASE-2 … CASE-11).

Each table lists the steps each test user may take; everybody not listed may take none. The same
`allowed_actions` drives the buttons on the case page and the 409 answer of the API.
"""

import pytest

from wangge.cases import services
from wangge.cases.choices import Rating, Source
from wangge.cases.policy import allowed_actions
from wangge.cases.testing import patrol_case

pytestmark = pytest.mark.django_db

USERS = [
    "sysadmin",
    "county",
    "township_a",
    "township_b",
    "village_a",
    "village_b",
    "grid_leader",
    "grid_worker",
    "grid_worker_b",
    "department",
    "police",
    "outsider",
]


def check_table(world, case, expected: dict[str, set[str]]):
    actual = {name: set(allowed_actions(getattr(world.users, name), case)) for name in USERS}
    wanted = {name: expected.get(name, set()) for name in USERS}
    assert actual == wanted


def dispatched(world):
    case = patrol_case(world)
    for actor in (world.users.grid_worker, world.users.grid_leader, world.users.village_a):
        case = services.escalate(case, by=actor, reason="上报")
    return services.dispatch(
        case, by=world.users.township_a, lead=world.department, co_handlers=[world.police]
    )


def test_a_residents_report(world):
    case, _ = services.report_case(
        reporter=None, source=Source.RESIDENT, description="井盖丢失", lng=108.02, lat=31.05
    )
    on_site = {"verify", "reject"}
    check_table(
        world,
        case,
        {
            "sysadmin": on_site | {"urge"},
            "county": on_site | {"urge"},
            "township_a": on_site | {"urge"},
            "village_a": on_site | {"urge"},  # supervisors may push the grid to verify it
            "grid_leader": on_site,
            "grid_worker": on_site,
        },
    )


def test_a_case_registered_in_a_grid(world):
    case = patrol_case(world)
    field = {"handle_in_place", "escalate"}
    check_table(
        world,
        case,
        {
            "sysadmin": field | {"dispatch", "hold", "urge"},
            "county": field | {"dispatch", "hold", "urge"},
            "township_a": field | {"dispatch", "urge"},
            "village_a": field | {"urge"},
            "grid_leader": field,
            "grid_worker": field,
        },
    )


def test_a_dispatched_case(world):
    case = dispatched(world)
    check_table(
        world,
        case,
        {
            "sysadmin": {"accept", "return_", "hold", "urge", "request_extension"},
            "county": {"hold", "urge"},
            "township_a": {"urge"},
            "village_a": {"urge"},
            "department": {"accept", "return_", "request_extension"},
        },
    )


def test_a_case_being_handled_with_a_co_handler(world):
    case = services.accept(dispatched(world), by=world.users.department)
    check_table(
        world,
        case,
        {
            "sysadmin": {"report_back", "submit", "hold", "urge", "request_extension"},
            "county": {"hold", "urge"},
            "township_a": {"urge"},
            "village_a": {"urge"},
            "department": {"submit", "request_extension"},
            "police": {"report_back"},
        },
    )


def test_a_pending_extension_is_decided_by_the_dispatching_level(world):
    case = services.accept(dispatched(world), by=world.users.department)
    services.request_extension(case, by=world.users.department, working_days=2, reason="待材料")
    case.refresh_from_db()
    assert "decide_extension" in allowed_actions(world.users.township_a, case)
    assert "decide_extension" in allowed_actions(world.users.county, case)
    assert "decide_extension" not in allowed_actions(world.users.village_a, case)
    assert "request_extension" not in allowed_actions(world.users.department, case)


def test_a_submitted_case(world):
    case = services.accept(dispatched(world), by=world.users.department)
    case = services.report_back(case, by=world.users.police, note="已配合")
    case = services.submit(case, by=world.users.department, result="已整改")
    check = {"check_pass", "check_fail"}
    check_table(
        world,
        case,
        {
            "sysadmin": check | {"urge"},
            "county": check | {"urge"},
            "township_a": check | {"urge"},
            "village_a": {"urge"},
            "grid_worker": check,  # the reporter checks on site
        },
    )


def test_a_closed_case(world):
    case = services.handle_in_place(patrol_case(world), by=world.users.grid_worker, result="已处理")
    desk = {"rate", "publish"}
    check_table(
        world,
        case,
        {
            "sysadmin": desk,
            "county": desk,
            "township_a": desk,
            "village_a": desk,
            "grid_leader": {"rate"},
            "grid_worker": {"rate"},
        },
    )
    case = services.rate(case, rating=Rating.UNSATISFIED)
    assert set(allowed_actions(world.users.township_a, case)) == {"reopen", "publish"}
    assert set(allowed_actions(world.users.village_a, case)) == {"publish"}  # villages do not dispatch


def test_a_case_in_long_term_management(world):
    case = services.hold(patrol_case(world), by=world.users.county, reason="历史遗留")
    follow = {"follow_up"}
    check_table(
        world,
        case,
        {
            "sysadmin": follow | {"resume"},
            "county": follow | {"resume"},
            "township_a": follow,
            "village_a": follow,
            "grid_leader": follow,
            "grid_worker": follow,
        },
    )
