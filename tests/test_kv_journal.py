"""The message log's journal of Redis writes (bot.kv_journal): replayed in
order, with what is left of each expiry, once."""
from __future__ import annotations

from datetime import timedelta

from bot.models import InboundMessage, utcnow


def journaled(services, user: str, writes: list, age_seconds: float) -> int:
    with services.db.session() as session:
        row = InboundMessage(dedup_key=f"k-{user}-{age_seconds}", from_user=user, msg_type="text", raw_xml="<xml/>",
                             status="handled", handled_at=utcnow() - timedelta(seconds=age_seconds),
                             kv_writes=writes)
        session.add(row)
    return row.id


def catch_up(services, user: str) -> int:
    with services.db.session() as session:
        return services.kv_journal.catch_up(session, user)


def test_writes_are_replayed_in_order_with_what_is_left_of_their_expiry(services, redis_client, key_prefix):
    short, long, gone = f"{key_prefix}short", f"{key_prefix}long", f"{key_prefix}gone"
    journaled(services, "u1", [[short, "first", 600], [long, "old", 3600], [gone, "x", None]], age_seconds=700)
    journaled(services, "u1", [[long, "new", 3600], [gone, None, None]], age_seconds=100)
    journaled(services, "someone.else", [[short, "not mine", 600]], age_seconds=1)

    assert catch_up(services, "u1") == 2
    assert redis_client.get(short) is None  # its 600 s had run out: not brought back
    assert redis_client.get(long) == "new" and 3400 <= redis_client.ttl(long) <= 3500
    assert redis_client.get(gone) is None  # deleted by the later message
    assert catch_up(services, "u1") == 0  # applied once


def test_a_message_older_than_the_window_is_not_replayed(services, redis_client, key_prefix):
    window = services.settings.dialog.keep_hours * 3600
    journaled(services, "u2", [[f"{key_prefix}ancient", "x", None]], age_seconds=window + 60)
    assert catch_up(services, "u2") == 0
    assert redis_client.get(f"{key_prefix}ancient") is None


def test_the_log_is_read_only_when_redis_lost_its_marker_or_a_turn_left_its_flag(services, redis_client,
                                                                                  key_prefix):
    key = f"{key_prefix}dialog"
    journaled(services, "u3", [[key, "state", None]], age_seconds=5)
    redis_client.set(f"{key_prefix}kv-applied:u3", 0)  # Redis says it has everything
    assert catch_up(services, "u3") == 0 and redis_client.get(key) is None  # the usual turn: no query

    # That turn never ended (no flush): its flag is still up, so the next turn reads the log.
    assert catch_up(services, "u3") == 1 and redis_client.get(key) == "state"
