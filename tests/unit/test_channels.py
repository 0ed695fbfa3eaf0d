"""Channel rules without a network: phone numbers, SMS segments, signatures, Retry-After, the SMS capture store."""

import pickle
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from postboard.channels import smsbox
from postboard.channels.base import (
    ChannelFailure,
    MemorySender,
    OutboundMessage,
    failure_for_response,
    parse_retry_after,
)
from postboard.channels.sms import (
    CaptureSmsProvider,
    HttpSmsProvider,
    SmsSender,
    count_segments,
    make_sms_provider,
    normalize_phone,
)
from postboard.channels.webhooks import sign, verify
from postboard.settings import Settings

# Phone numbers


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("+4915123456789", "+4915123456789"),
        ("+49 151 2345-6789", "+4915123456789"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("+33.6.12.34.56.78", "+33612345678"),
        ("+12345678", "+12345678"),
        ("+123456789012345", "+123456789012345"),
    ],
)
def test_phone_numbers_are_normalised(raw: str, phone: str) -> None:
    assert normalize_phone(raw) == phone


@pytest.mark.parametrize(
    "raw", ["", "4915123456789", "+1234567", "+1234567890123456", "+49 151 ABC", "00491512345678", "++4915123456"]
)
def test_non_phone_numbers_are_refused(raw: str) -> None:
    assert normalize_phone(raw) is None


async def test_sms_to_a_bad_number_fails_for_good_and_stores_nothing(tmp_path: Path) -> None:
    sender = SmsSender(CaptureSmsProvider(tmp_path))
    with pytest.raises(ChannelFailure) as caught:
        await sender.send(OutboundMessage(recipient="12345", body="hi"))
    assert caught.value.permanent
    assert caught.value.error == "not a phone number: '12345'"
    assert smsbox.count_messages(tmp_path) == 0


async def test_empty_sms_fails_for_good(tmp_path: Path) -> None:
    with pytest.raises(ChannelFailure) as caught:
        await SmsSender(CaptureSmsProvider(tmp_path)).send(OutboundMessage(recipient="+14155550100", body="  "))
    assert caught.value.permanent


# SMS segments


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters cost two septets
        ("€" * 81, 2),
        ("é" * 160, 1),  # in the GSM basic set
        ("ł" * 70, 1),  # not GSM: UCS-2, 70 per part
        ("ł" * 71, 2),
        ("😀" * 35, 1),  # two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_segments_follow_the_encoding(body: str, segments: int) -> None:
    assert count_segments(body) == segments


# Webhook signatures

BODY = b'{"id":"ev-1","event":"order_created","payload":{"total":150},"sent_at":"2026-01-01T00:00:00+00:00"}'


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    assert sign("whsec_test", 1767225600, BODY) == (
        "sha256=61815bea54533a15255d6ad1a26dcadf55842a13f709ebbc4623aa6e9e6c6e7f"
    )
    assert sign("whsec_test", "1767225600", BODY.decode()) == sign("whsec_test", 1767225600, BODY)


def test_verify_accepts_a_fresh_genuine_request() -> None:
    signature = sign("s", 1000, BODY)
    assert verify("s", BODY, "1000", signature, now=1000)
    assert verify("s", BODY, 1000, signature, now=1300)


@pytest.mark.parametrize(
    ("secret", "body", "timestamp", "now"),
    [
        ("wrong", BODY, "1000", 1000),
        ("s", BODY + b" ", "1000", 1000),
        ("s", BODY, "1001", 1001),
        ("s", BODY, "1000", 1301),
        ("s", BODY, "1000", 699),
        ("s", BODY, "yesterday", 1000),
    ],
    ids=["wrong secret", "changed body", "changed timestamp", "stale", "from the future", "bad timestamp"],
)
def test_verify_refuses(secret: str, body: bytes, timestamp: str, now: float) -> None:
    assert not verify(secret, body, timestamp, sign("s", 1000, BODY), now=now)


def test_verify_honours_a_custom_tolerance() -> None:
    signature = sign("s", 1000, BODY)
    assert not verify("s", BODY, 1000, signature, tolerance=10, now=1011)
    assert verify("s", BODY, 1000, signature, tolerance=10, now=1010)


# Failure classification


def test_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


def test_a_failure_survives_pickling_with_its_class() -> None:
    copy = pickle.loads(pickle.dumps(ChannelFailure("HTTP 429", permanent=False, retry_after=30.0)))
    assert (copy.error, copy.permanent, copy.retry_after) == ("HTTP 429", False, 30.0)


def test_failure_text_is_short_and_names_the_status() -> None:
    response = httpx.Response(500, text="<html>\n  " + "oops " * 100 + "</html>")
    failure = failure_for_response(response)
    assert not failure.permanent
    assert failure.error.startswith("HTTP 500 Internal Server Error: <html> oops oops")
    assert len(failure.error) < 260


# The SMS capture store


async def test_captured_sms_are_listed_newest_first_read_and_cleared(tmp_path: Path) -> None:
    sender = SmsSender(CaptureSmsProvider(tmp_path, sender="Shop"))
    receipts = [
        await sender.send(OutboundMessage(recipient=f"+1415555010{i}", body=f"text {i}", event="order_created"))
        for i in range(3)
    ]
    assert receipts[0].startswith("captured ")
    assert receipts[0].endswith(", 1 segment")
    assert smsbox.count_messages(tmp_path) == 3
    listed = smsbox.list_messages(tmp_path)
    assert [sms.to for sms in listed] == ["+14155550102", "+14155550101", "+14155550100"]
    assert [sms.to for sms in smsbox.list_messages(tmp_path, limit=2, offset=1)] == ["+14155550101", "+14155550100"]
    opened = smsbox.read_message(tmp_path, key=listed[2].key)
    assert opened is not None
    assert (opened.sender, opened.body, opened.event, opened.segments) == ("Shop", "text 0", "order_created", 1)
    assert receipts[0] == f"captured {opened.key}, 1 segment"
    assert smsbox.clear(tmp_path) == 3
    assert smsbox.list_messages(tmp_path) == []


def test_smsbox_refuses_keys_outside_its_folder(tmp_path: Path) -> None:
    (tmp_path / "box").mkdir()
    (tmp_path / "secret.json").write_text('{"to": "x", "from": "y", "body": "z", "time": "2026-01-01T00:00:00"}')
    assert smsbox.read_message(tmp_path / "box", key="../secret") is None
    assert smsbox.read_message(tmp_path / "box", key="missing") is None


def test_smsbox_skips_files_that_are_not_messages(tmp_path: Path) -> None:
    smsbox.store_message(tmp_path, to="+14155550100", sender="P", body="hi", event="e", segments=1)
    (tmp_path / "zzz.json").write_text("not json")
    assert [sms.body for sms in smsbox.list_messages(tmp_path)] == ["hi"]


def test_an_empty_or_missing_smsbox_lists_nothing(tmp_path: Path) -> None:
    assert smsbox.list_messages(tmp_path / "never-created") == []
    assert smsbox.count_messages(tmp_path / "never-created") == 0
    assert smsbox.clear(tmp_path / "never-created") == 0


# Provider choice and the test twin


async def test_settings_pick_the_sms_provider(tmp_path: Path) -> None:
    async with httpx.AsyncClient() as client:
        dev = make_sms_provider(Settings(_env_file=None, sms_dir=tmp_path), client)  # type: ignore[call-arg]
        live = make_sms_provider(
            Settings(_env_file=None, sms_provider="http", sms_http_url="https://sms.example/send"),  # type: ignore[call-arg]
            client,
        )
        unset = make_sms_provider(Settings(_env_file=None, sms_provider="http"), client)  # type: ignore[call-arg]
        assert isinstance(dev, CaptureSmsProvider)
        assert isinstance(live, HttpSmsProvider)
        with pytest.raises(ChannelFailure) as caught:
            await unset.send_sms(to="+14155550100", body="hi", event="e")
    assert caught.value.permanent
    assert "SMS_HTTP_URL" in caught.value.error


async def test_memory_sender_records_and_fails_on_demand() -> None:
    twin = MemorySender({"bad": ChannelFailure("HTTP 410 Gone", permanent=True)})
    assert await twin.send(OutboundMessage(recipient="good", body="b")) == "memory #1"
    with pytest.raises(ChannelFailure):
        await twin.send(OutboundMessage(recipient="bad", body="b"))
    assert [m.recipient for m in twin.sent] == ["good"]
