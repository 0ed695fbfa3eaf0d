"""The dashboard's figures: today's counts, the 24 h chart, the latest rows, the system figures.

Read once per backend process per tick for every dashboard tab of the process (the
dashboard hub), or once at a page load when live push is off. Rows are plain JSON-ready
dicts, the shape the page shows and the hub sends.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, func
from sqlmodel import Session, col, select

from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.monitor.snapshot import queue_row
from postboard.monitor.store import JobStore
from postboard.posts.models import Post, post_path
from postboard.users.models import User

Row = dict[str, Any]
CHART_HOURS = 24
LATEST_POSTS = 8
LATEST_DELIVERIES = 10
# The Online now list names this many (the count is exact whatever the number).
ONLINE_LISTED = 50
FAILURE_WINDOW = timedelta(minutes=15)
FINISHED = (DeliveryStatus.SENT, DeliveryStatus.FAILED)


def start_of_day(now: datetime) -> datetime:
    """Midnight UTC of `now`'s day: "today" on the dashboard is the UTC day."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _iso(value: datetime) -> str:
    # SQLite gives back naive datetimes; every stored time is UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def _live_post() -> Any:
    # A deleted post keeps its row, but every reader, the dashboard included, counts it gone.
    return col(Post.deleted_at).is_(None)


def today_counts(session: Session, *, now: datetime) -> Row:
    """Posts published, emails sent and deliveries failed since midnight UTC."""
    midnight = start_of_day(now)
    posts = session.exec(
        select(func.count()).select_from(Post).where(col(Post.created_at) >= midnight, _live_post())
    ).one()
    sent, failed = session.exec(
        select(
            _count_if((col(Delivery.status) == DeliveryStatus.SENT) & (col(Delivery.channel) == Channel.EMAIL)),
            _count_if(col(Delivery.status) == DeliveryStatus.FAILED),
        ).where(col(Delivery.status).in_(FINISHED), col(Delivery.updated_at) >= midnight)
    ).one()
    return {"posts_today": int(posts), "emails_today": int(sent), "failed_today": int(failed)}


def hourly_chart(session: Session, *, now: datetime) -> list[Row]:
    """Posts and finished deliveries in each of the last 24 hours (UTC), oldest first: one query each."""
    top = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hours = [top - timedelta(hours=CHART_HOURS - i) for i in range(CHART_HOURS)]
    start = hours[0]

    def buckets(column: Any) -> list[Any]:
        return [_count_if((column >= h) & (column < h + timedelta(hours=1))) for h in hours]

    posts = session.exec(
        select(*buckets(col(Post.created_at))).where(col(Post.created_at) >= start, _live_post())
    ).one()
    deliveries = session.exec(
        select(*buckets(col(Delivery.updated_at))).where(
            col(Delivery.status).in_(FINISHED), col(Delivery.updated_at) >= start
        )
    ).one()
    return [
        {"hour": h.strftime("%H:00"), "posts": int(p), "deliveries": int(d)}
        for h, p, d in zip(hours, posts, deliveries, strict=True)
    ]


def latest_posts(session: Session, *, limit: int = LATEST_POSTS) -> list[Row]:
    """The newest posts for the live table: title, author, when."""
    rows = session.exec(
        select(Post.id, Post.title, User.name, Post.created_at)
        .join(User, col(User.id) == col(Post.author_id))
        .where(_live_post())
        .order_by(col(Post.id).desc())
        .limit(limit)
    ).all()
    return [
        {"id": pid, "title": title, "author": author, "created_at": _iso(at), "url": post_path(pid or 0)}
        for pid, title, author, at in rows
    ]


def online_people(session: Session, online: dict[int, float], *, limit: int = ONLINE_LISTED) -> list[Row]:
    """Name and since (ISO, UTC) of the users online who came first, longest online first."""
    first = sorted((since, user_id) for user_id, since in online.items())[:limit]
    if not first:
        return []
    found = dict(session.exec(select(User.id, User.name).where(col(User.id).in_([u for _, u in first]))).all())
    return [
        {"id": user_id, "name": found[user_id], "since": datetime.fromtimestamp(since, UTC).isoformat()}
        for since, user_id in first
        if user_id in found
    ]


def public_figures(session: Session, *, online: int, people: list[Row], listing: bool, now: datetime) -> Row:
    """What every signed-in user's dashboard shows; who is online only when listing is on."""
    return {
        **today_counts(session, now=now),
        "users_online": online,
        "chart": hourly_chart(session, now=now),
        "latest_posts": latest_posts(session),
        "online": people if listing else [],
        "listing": listing,
    }


def failure_rate(session: Session, *, now: datetime) -> Row:
    """Failed share of the deliveries finished in the last 15 minutes."""
    failed, finished = session.exec(
        select(_count_if(col(Delivery.status) == DeliveryStatus.FAILED), func.count()).where(
            col(Delivery.status).in_(FINISHED), col(Delivery.updated_at) >= now - FAILURE_WINDOW
        )
    ).one()
    rate = f"{100 * failed / finished:.1f} %" if finished else "—"
    return {"failure_rate": rate, "failed_15m": int(failed), "finished_15m": int(finished)}


def latest_deliveries(session: Session, *, limit: int = LATEST_DELIVERIES) -> list[Row]:
    """The newest deliveries with where they stand, for the admins' live table."""
    rows = session.exec(
        select(Delivery, User.email)
        .join(User, col(User.id) == col(Delivery.user_id), isouter=True)
        .order_by(col(Delivery.id).desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": d.id,
            "channel": Channel(d.channel).label,
            "recipient": d.recipient or email or "—",
            "status": str(d.status),
            "attempts": d.attempts,
            "updated_at": _iso(d.updated_at),
        }
        for d, email in rows
    ]


async def queue_rows(store: JobStore, *, queues: tuple[str, ...], thresholds: dict[str, float]) -> list[Row]:
    """Depth, oldest wait and live workers of each queue (the monitor's figures)."""
    return [queue_row(await store.queue_figures(q), threshold=thresholds.get(q, 60.0)) for q in queues]


def system_figures(session: Session, *, queues: list[Row], people: list[Row], now: datetime) -> Row:
    """What admins see besides the public figures: queues, failure rate, workers, latest deliveries, who is online."""
    return {
        "queues": queues,
        "workers": sum(int(q["workers"]) for q in queues),
        **failure_rate(session, now=now),
        "latest_deliveries": latest_deliveries(session),
        "online_all": people,
    }


def dashboard_figures(
    session: Session, *, online: dict[int, float], listing: bool, queues: list[Row] | None, now: datetime
) -> tuple[Row, Row | None]:
    """The public figures, and the system ones when `queues` were read (someone admin is looking)."""
    people = online_people(session, online)
    public = public_figures(session, online=len(online), people=people, listing=listing, now=now)
    system = None if queues is None else system_figures(session, queues=queues, people=people, now=now)
    return public, system
