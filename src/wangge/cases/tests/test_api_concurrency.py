"""Two people acting on one case at once: one wins, the other gets 409 (issue 3 "API and rules").

Real concurrency needs real connections: each thread below opens its own database connection and both
read the case before either writes. Only PostgreSQL runs the two transactions side by side; SQLite
takes one write lock for the whole database, so the race cannot happen there in the first place.
"""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from wangge.cases.choices import ActionKind, CaseState
from wangge.cases.models import Case
from wangge.cases.testing import patrol_case
from wangge.people.models import User

pytestmark = [
    # serialized_rollback: the flush after a transactional test would otherwise take the rows the
    # migrations put in (unit levels …) away from the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("restore_migrated_rows"),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="two concurrent write transactions need PostgreSQL; SQLite serialises all writes",
    ),
]


def race(case, contenders, *, send_version: bool):
    """Run each (user, step, body) in its own thread and connection; all read the case (and its
    version), wait for each other, then post at once. Returns {step: (status, body)}."""
    barrier = threading.Barrier(len(contenders), timeout=30)
    results: dict[str, tuple[int, dict]] = {}
    errors: list[BaseException] = []

    def contender(user, step, body):
        try:
            client = APIClient()
            client.force_authenticate(User.objects.get(pk=user.pk))
            seen = client.get(f"/api/v1/cases/{case.pk}/").json()
            assert step in seen["allowed_actions"], (step, seen["allowed_actions"])
            if send_version:
                body = {**body, "expected_version": seen["version"]}
            barrier.wait()
            response = client.post(f"/api/v1/cases/{case.pk}/{step}/", body, format="json")
            results[step] = (response.status_code, response.json())
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=contender, args=args) for args in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    assert len(results) == len(contenders), "a contender did not finish"
    return results


def contenders(world):
    """On a registered case in 一格: the township dispatches it while the grid worker handles it."""
    return [
        (world.users.township_a, "dispatch", {"lead": {"department": "yingji"}}),
        (world.users.grid_worker, "handle_in_place", {"result": "已现场处置"}),
    ]


def assert_one_winner(case, results):
    statuses = sorted(status for status, _body in results.values())
    assert statuses == [200, 409], results
    winner = next(step for step, (status, _body) in results.items() if status == 200)
    loser_body = next(body for status, body in results.values() if status == 409)
    case.refresh_from_db()
    expected = {"dispatch": CaseState.DISPATCHED, "handle_in_place": CaseState.CLOSED}[winner]
    assert case.state == expected
    # Only the winner's step was recorded; the loser left nothing behind.
    kinds = list(case.actions.values_list("kind", flat=True))
    assert kinds == [ActionKind.REPORT, ActionKind.REGISTER, winner]
    assert case.version == 3
    return loser_body


def test_with_expected_versions_the_second_writer_gets_409_stale(world):
    case = patrol_case(world)
    loser = assert_one_winner(case, race(case, contenders(world), send_version=True))
    assert loser["version"] == 3
    assert loser["detail"]


def test_without_versions_the_second_writer_gets_409_with_what_it_may_do_now(world):
    """The row lock makes the second step wait for the first and then see the new state."""
    case = patrol_case(world)
    loser = assert_one_winner(case, race(case, contenders(world), send_version=False))
    assert "allowed" in loser
    assert "dispatch" not in loser["allowed"] and "handle_in_place" not in loser["allowed"]
    assert Case.objects.count() == 1
