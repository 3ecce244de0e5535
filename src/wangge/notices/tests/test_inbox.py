"""The in-app inbox (秒通知, COMM-2): one's own notifications, the polled unread badge, marking read."""

import pytest
from django.urls import reverse

from wangge.cases import services
from wangge.cases.testing import patrol_case
from wangge.notices import urls as notice_urls
from wangge.notices.models import Notification, NotificationKind
from wangge.notices.services import notify

pytestmark = pytest.mark.django_db

INBOX = reverse("notices:inbox")
BADGE = reverse("notices:badge")
READ = reverse("notices:read")


def send(user, title, url="/me/", kind=NotificationKind.URGED):
    notify([user], kind, title, body="请尽快处理", url=url)
    return Notification.objects.filter(recipient=user).latest("id")


def test_every_inbox_route_is_covered_here():
    assert {p.name for p in notice_urls.urlpatterns} == {"inbox", "badge", "read", "open"}


@pytest.mark.parametrize("url", [INBOX, READ])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url) if url == INBOX else client.post(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_inbox_shows_only_ones_own_notifications_unread_first(county, login):
    worker, other = county.users.grid_worker, county.users.grid_leader
    old = send(worker, "早先的已读通知")
    old.read_at = old.created_at
    old.save()
    send(worker, "新的督办通知")
    send(other, "别人的通知")
    page = login(worker).get(INBOX).content.decode()
    assert "新的督办通知" in page and "早先的已读通知" in page
    assert "别人的通知" not in page
    assert page.index("新的督办通知") < page.index("早先的已读通知")


def test_a_case_step_arrives_in_the_handlers_inbox_and_links_to_the_case(world, login):
    """COMM-2: the handler sees an urge at once; following it opens the case and marks it read."""
    case = patrol_case(world)
    services.urge(case, by=world.users.township_a, level="red", note="今天必须办结")
    client = login(world.users.grid_worker)
    notification = Notification.objects.get(recipient=world.users.grid_worker, kind=NotificationKind.URGED)
    page = client.get(INBOX).content.decode()
    assert case.number in page and "今天必须办结" in page
    response = client.get(reverse("notices:open", args=[notification.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("cases:detail", args=[case.pk])
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_another_users_notification_cannot_be_opened(county, login):
    theirs = send(county.users.grid_leader, "别人的通知")
    response = login(county.users.grid_worker).get(reverse("notices:open", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_link_to_another_site_is_not_followed(county, login):
    notification = send(county.users.grid_worker, "外链", url="https://evil.example/steal")
    response = login(county.users.grid_worker).get(reverse("notices:open", args=[notification.pk]))
    assert response["Location"] == INBOX


def test_the_badge_counts_unread_notifications(county, login):
    worker = county.users.grid_worker
    client = login(worker)
    assert 'class="badge unread"' not in client.get(BADGE).content.decode()
    for i in range(3):
        send(worker, f"通知{i}")
    send(county.users.grid_leader, "别人的")
    response = client.get(BADGE)
    assert response.status_code == 200
    assert ">3</span>" in response.content.decode()
    assert "no-cache" in response["Cache-Control"]


def test_the_badge_shows_99_plus_beyond_99(county, login):
    worker = county.users.grid_worker
    notify([worker], NotificationKind.URGED, "x")
    Notification.objects.bulk_create(
        [Notification(recipient=worker, kind=NotificationKind.URGED, title=f"n{i}") for i in range(120)]
    )
    assert ">99+</span>" in login(worker).get(BADGE).content.decode()


def test_the_badge_stops_polling_for_a_signed_out_page(client):
    """htmx stops polling on 286, so an expired session's page does not load the sign-in form into the bar."""
    response = client.get(BADGE)
    assert response.status_code == 286 and response.content == b""


def test_every_signed_in_page_carries_the_polling_badge(county, login):
    worker = county.users.grid_worker
    send(worker, "一条新通知")
    page = login(worker).get(reverse("people:profile")).content.decode()
    assert f'hx-get="{BADGE}"' in page and 'hx-trigger="every 60s"' in page
    assert ">1</span>" in page[page.index('id="inbox-badge"') :]
    assert "vendor/htmx/htmx.min.js" in page


def test_the_unread_count_costs_one_query(county, login, django_assert_num_queries):
    from django.test import RequestFactory

    from wangge.notices.context_processors import unread_notifications

    request = RequestFactory().get("/")
    request.user = county.users.grid_worker
    context = unread_notifications(request)
    with django_assert_num_queries(1):
        assert context["unread_notifications"]() == 0
        assert context["unread_notifications"]() == 0  # computed once per page


def test_anonymous_pages_get_no_count(client):
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    from wangge.notices.context_processors import unread_notifications

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert unread_notifications(request) == {}
    assert "inbox-badge" not in client.get(reverse("login")).content.decode()


def test_mark_all_read(county, login):
    worker = county.users.grid_worker
    for i in range(2):
        send(worker, f"通知{i}")
    theirs = send(county.users.grid_leader, "别人的")
    client = login(worker)
    response = client.post(READ)
    assert response.status_code == 302 and response["Location"] == INBOX
    assert not Notification.objects.filter(recipient=worker, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None  # only one's own
    assert ">2</span>" not in client.get(BADGE).content.decode()


def test_mark_read_by_id_touches_only_ones_own(county, login):
    worker = county.users.grid_worker
    first, second = send(worker, "一"), send(worker, "二")
    theirs = send(county.users.grid_leader, "别人的")
    login(worker).post(READ, {"id": [first.pk, theirs.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    theirs.refresh_from_db()
    assert first.read_at and not second.read_at and not theirs.read_at


def test_marking_read_needs_a_post(county, login):
    assert login(county.users.grid_worker).get(READ).status_code == 405


def test_the_top_bar_shows_case_links_by_capability(world, login):
    worker_page = login(world.users.grid_worker).get(reverse("people:profile")).content.decode()
    nav = worker_page[worker_page.index('class="topnav"') : worker_page.index("</nav>")]
    assert reverse("field:report") in nav and reverse("field:mine") in nav
    assert reverse("cases:queue") in nav and reverse("notices:inbox") in nav
    outsider = login(world.users.outsider).get(reverse("people:profile")).content.decode()
    nav = outsider[outsider.index('class="topnav"') : outsider.index("</nav>")]
    assert reverse("field:report") not in nav and reverse("cases:queue") not in nav
    assert reverse("field:mine") not in nav and reverse("notices:inbox") in nav
