"""The dashboard's figures, read from a real SQLite database built through the services."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from postboard.dashboard.figures import dashboard_figures, hourly_chart, start_of_day, today_counts
from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.posts.service import create_post, delete_post
from postboard.users.models import Role, User
from tests.factories import make_user

NOW = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)


def _post(session: Session, author: User, *, at: datetime, title: str = "Launch") -> int:
    post, _ = create_post(session, author=author, title=title, content="We shipped it.")
    post.created_at = at
    session.commit()
    return post.id or 0


def _delivery(
    session: Session,
    *,
    post_id: int,
    user: User,
    status: DeliveryStatus,
    at: datetime,
    channel: Channel = Channel.EMAIL,
) -> Delivery:
    row = Delivery(
        post_id=post_id, user_id=user.id, channel=channel, status=status, attempts=1, updated_at=at, created_at=at
    )
    session.add(row)
    session.commit()
    return row


def test_today_counts_only_what_happened_since_midnight_utc(session: Session) -> None:
    ada = make_user(session, role=Role.ADMIN)
    bob = make_user(session, name="Bob", email="bob@example.com", role=Role.MEMBER)
    today = _post(session, ada, at=NOW - timedelta(hours=1))
    yesterday = _post(session, ada, at=start_of_day(NOW) - timedelta(minutes=1))
    _delivery(session, post_id=today, user=bob, status=DeliveryStatus.SENT, at=NOW - timedelta(minutes=50))
    _delivery(
        session, post_id=yesterday, user=bob, status=DeliveryStatus.SENT, at=start_of_day(NOW) - timedelta(minutes=1)
    )
    _delivery(session, post_id=today, user=ada, status=DeliveryStatus.FAILED, at=NOW - timedelta(minutes=40))
    _delivery(session, post_id=today, user=bob, status=DeliveryStatus.SENT, at=NOW, channel=Channel.IN_APP)
    _delivery(session, post_id=yesterday, user=ada, status=DeliveryStatus.PENDING, at=NOW)

    assert today_counts(session, now=NOW) == {"posts_today": 1, "emails_today": 1, "failed_today": 1}


def test_the_chart_has_24_hours_oldest_first_with_each_row_in_its_hour(session: Session) -> None:
    ada = make_user(session, role=Role.ADMIN)
    bob = make_user(session, name="Bob", email="bob@example.com", role=Role.MEMBER)
    first = _post(session, ada, at=NOW - timedelta(minutes=5))
    _post(session, ada, at=NOW - timedelta(hours=3, minutes=10))
    _post(session, ada, at=NOW - timedelta(hours=30))  # outside the window
    _delivery(session, post_id=first, user=bob, status=DeliveryStatus.SENT, at=NOW - timedelta(minutes=1))
    _delivery(session, post_id=first, user=ada, status=DeliveryStatus.FAILED, at=NOW - timedelta(minutes=2))

    chart = hourly_chart(session, now=NOW)

    assert len(chart) == 24
    assert chart[0]["hour"] == "11:00"
    assert chart[-1]["hour"] == "10:00"
    assert chart[-1] == {"hour": "10:00", "posts": 1, "deliveries": 2}
    assert chart[-4] == {"hour": "07:00", "posts": 1, "deliveries": 0}
    assert sum(row["posts"] for row in chart) == 2


def test_public_figures_list_who_is_online_unless_listing_is_off_and_admins_always_see_them(session: Session) -> None:
    ada = make_user(session, role=Role.ADMIN)
    bob = make_user(session, name="Bob", email="bob@example.com", role=Role.MEMBER)
    _post(session, ada, at=NOW - timedelta(minutes=1), title="Older")
    newest = _post(session, ada, at=NOW, title="Newest")
    online = {bob.id or 0: NOW.timestamp() - 60, ada.id or 0: NOW.timestamp() - 600}

    public, system = dashboard_figures(session, online=online, listing=True, queues=None, now=NOW)
    assert system is None
    assert public["users_online"] == 2
    assert [p["name"] for p in public["online"]] == ["Ada", "Bob"]  # longest online first
    assert public["online"][1]["since"] == datetime.fromtimestamp(NOW.timestamp() - 60, UTC).isoformat()
    assert [p["title"] for p in public["latest_posts"]][:2] == ["Newest", "Older"]
    assert public["latest_posts"][0] | {"created_at": ""} == {
        "id": newest,
        "title": "Newest",
        "author": "Ada",
        "created_at": "",
        "url": f"/posts/{newest}",
    }

    hidden, system = dashboard_figures(session, online=online, listing=False, queues=[], now=NOW)
    assert hidden["users_online"] == 2
    assert hidden["online"] == []
    assert hidden["listing"] is False
    assert system is not None
    assert [p["name"] for p in system["online_all"]] == ["Ada", "Bob"]


def test_system_figures_give_the_failure_rate_of_the_last_15_minutes_and_the_latest_deliveries(
    session: Session,
) -> None:
    ada = make_user(session, role=Role.ADMIN)
    bob = make_user(session, name="Bob", email="bob@example.com", role=Role.MEMBER)
    post = _post(session, ada, at=NOW)
    _delivery(session, post_id=post, user=bob, status=DeliveryStatus.SENT, at=NOW - timedelta(minutes=1))
    _delivery(session, post_id=post, user=ada, status=DeliveryStatus.FAILED, at=NOW - timedelta(minutes=2))
    _delivery(
        session,
        post_id=post,
        user=bob,
        status=DeliveryStatus.FAILED,
        at=NOW - timedelta(minutes=20),
        channel=Channel.IN_APP,
    )
    latest = _delivery(session, post_id=post, user=ada, status=DeliveryStatus.PENDING, at=NOW, channel=Channel.SMS)
    queues = [{"queue": "emails", "depth": 3, "workers": 2}, {"queue": "sms", "depth": 0, "workers": 1}]

    _, system = dashboard_figures(session, online={}, listing=True, queues=queues, now=NOW)

    assert system is not None
    assert (system["failure_rate"], system["failed_15m"], system["finished_15m"]) == ("50.0 %", 1, 2)
    assert system["workers"] == 3
    assert system["queues"] == queues
    assert system["latest_deliveries"][0] | {"updated_at": ""} == {
        "id": latest.id,
        "channel": "SMS",
        "recipient": "ada@example.com",
        "status": "pending",
        "attempts": 1,
        "updated_at": "",
    }
    assert len(system["latest_deliveries"]) == 4


def test_no_deliveries_means_no_failure_rate_rather_than_zero(session: Session) -> None:
    _, system = dashboard_figures(session, online={}, listing=True, queues=[], now=NOW)
    assert system is not None
    assert system["failure_rate"] == "—"
    assert system["latest_deliveries"] == []


def test_a_deleted_post_leaves_the_counts_the_chart_and_the_latest_posts(session: Session) -> None:
    ada = make_user(session, role=Role.ADMIN)
    kept = _post(session, ada, at=NOW - timedelta(minutes=20), title="Kept")
    gone = _post(session, ada, at=NOW - timedelta(minutes=10), title="Gone")
    before, _ = dashboard_figures(session, now=NOW, online={}, listing=True, queues=None)
    assert [p["id"] for p in before["latest_posts"]] == [gone, kept]

    delete_post(session, actor=ada, post_id=gone)

    after, _ = dashboard_figures(session, now=NOW, online={}, listing=True, queues=None)
    assert [p["id"] for p in after["latest_posts"]] == [kept]
    assert today_counts(session, now=NOW)["posts_today"] == 1
    assert sum(row["posts"] for row in hourly_chart(session, now=NOW)) == 1
