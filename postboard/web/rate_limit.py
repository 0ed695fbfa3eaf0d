"""A per-token rate limit for `POST /api/events`, counted in Redis so every backend shares it."""

import logging
import time

from redis.asyncio import Redis

from postboard.errors import OUTAGES
from postboard.names import KEY_PREFIX
from postboard.settings import get_settings

log = logging.getLogger(__name__)
_redis: Redis | None = None


def _client() -> Redis:
    global _redis
    if _redis is None:
        _redis = Redis.from_url(get_settings().redis_url, socket_connect_timeout=1, socket_timeout=1)
    return _redis


async def check_rate(token_id: int) -> int | None:
    """Count one request; return the seconds to wait if the token is over its limit, else None.

    A one-second window: `API_RATE_LIMIT` events per second per token. If Redis is down the
    request is let through (the event is still recorded; the outbox queues it later).
    """
    limit = get_settings().api_rate_limit
    if limit <= 0:
        return None
    second = int(time.time())
    key = f"{KEY_PREFIX}:rate:{token_id}:{second}"
    try:
        pipe = _client().pipeline()
        pipe.incr(key)
        pipe.expire(key, 2)
        count, _ = await pipe.execute()
    except OUTAGES as exc:  # fail open: Redis down must not take the API down
        log.warning("rate limit not checked: %s", exc)
        return None
    return 1 if int(count) > limit else None
