"""The demo's AB pairs, absences, reserves, duties and supervision phones: built in bulk, they keep every
rule the services enforce, and the demo logins see cover at work today."""

from __future__ import annotations

import datetime
import time
from collections import Counter, defaultdict
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.test import override_settings

from wangge.core.pii import MOBILE_PATTERN
from wangge.core.scope import scope_for
from wangge.demo import generator
from wangge.demo.ledger import build_ledger
from wangge.people import services
from wangge.people.demo import build_cover_demo
from wangge.people.models import Absence, CoverPair, Post, ReserveKind, ReserveMember, User
from wangge.people.roles import GRID_ROLES, Role
from wangge.units.models import Unit

pytestmark = pytest.mark.django_db

SEED = 11
TODAY = datetime.date(2026, 11, 20)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The small demo county with its ledger and the cover demo; rolled back after the module."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        plan = generator.generate(generator.SCALES["small"], SEED, generator.read_standards())
        generator.load(plan, generator.read_levels())
        build_ledger(plan, SEED, TODAY)
        started = time.perf_counter()
        counts = build_cover_demo(SEED, TODAY)
        yield SimpleNamespace(counts=counts, seconds=time.perf_counter() - started)
        transaction.set_rollback(True)


@pytest.fixture
def today(monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def test_counts_and_speed(demo):
    counts = demo.counts
    assert counts["cover_pairs"] > 0.8 * Post.objects.filter(role__in=GRID_ROLES).count()  # most grid posts
    assert counts["absences"] == Absence.objects.count() > 0
    assert counts["reserve_members"] == ReserveMember.objects.count()
    assert demo.seconds < 20


def test_every_b_is_a_colleague_of_the_same_village_and_one_b_per_post(demo, today):
    villages = {u.path: u for u in Unit.objects.filter(level__rank=3)}
    active_posts = defaultdict(list)
    for user_id, path in (
        Post.objects.active(TODAY).exclude(role=Role.DEPARTMENT_USER).values_list("user_id", "unit__path")
    ):
        active_posts[user_id].append(path)
    per_post = Counter()
    for pair in CoverPair.objects.select_related("a_post__unit"):
        village = next(p for p in villages if pair.a_post.unit.path.startswith(p))
        assert pair.b_user_id != pair.a_post.user_id
        assert any(path.startswith(village) for path in active_posts[pair.b_user_id])
        assert pair.a_post.role in GRID_ROLES and pair.a_post.unit.level.is_grid
        per_post[pair.a_post_id] += 1
    assert set(per_post.values()) == {1}


def test_absences_keep_the_rules(demo):
    absences = list(Absence.objects.select_related("post", "pair"))
    by_post, away, covering = defaultdict(list), defaultdict(list), defaultdict(list)
    for a in absences:
        assert a.start <= a.end and a.cover_id == a.pair.b_user_id and a.pair.start_date <= a.start
        by_post[a.post_id].append((a.start, a.end))
        away[a.post.user_id].append((a.start, a.end))
        covering[a.cover_id].append((a.start, a.end))

    def clash(spans, start, end):
        return any(s <= end and e >= start for s, e in spans)

    for spans in by_post.values():
        for i, (s, e) in enumerate(spans):
            assert not clash(spans[:i] + spans[i + 1 :], s, e)
    for a in absences:
        assert not clash(away[a.cover_id], a.start, a.end)  # the B is not away
        assert not clash(covering[a.post.user_id], a.start, a.end)  # nobody away covers
    reasons = Counter(a.reason for a in absences)
    assert len(reasons) >= 3


def test_the_demo_logins_see_cover_today(demo, today):
    worker = User.objects.get(username="demo-gridworker")
    assert services.away_cover([worker.pk], TODAY)
    leader = User.objects.get(username="demo-gridleader")
    scope = scope_for(leader)
    assert scope.covering and all(c.until >= TODAY for c in scope.covering)


def test_reserves_per_grid3(demo):
    sizes = Counter(ReserveMember.objects.filter(unit__level__key="grid3").values_list("unit_id", flat=True))
    grid3s = Unit.objects.filter(level__key="grid3").count()
    assert len(sizes) == grid3s and min(sizes.values()) >= 5 and max(sizes.values()) <= 15
    kinds = Counter(ReserveMember.objects.values_list("kind", flat=True))
    assert kinds[ReserveKind.B_POST] and kinds[ReserveKind.PARTY_MEMBER] and kinds[ReserveKind.VOLUNTEER]
    for member in ReserveMember.objects.all()[:200]:
        assert MOBILE_PATTERN.match(member.phone) and member.phone_index and member.skills
    linked = ReserveMember.objects.filter(resident__isnull=False).select_related(
        "resident__household__grid", "unit"
    )
    assert all(m.resident.household.grid.path.startswith(m.unit.path) for m in linked)


def test_duties_and_supervision_phones(demo):
    assert not Post.objects.filter(role__in=GRID_ROLES, duties="").exists()
    assert Unit.objects.get(depth=1).supervision_phone == "12345"
    assert not Unit.objects.filter(level__rank=2, supervision_phone="").exists()
    grid = Unit.objects.filter(level__key="grid4").first()
    assert services.supervision_phone(grid).startswith("023-")
