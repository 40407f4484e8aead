"""The webhook signature scheme on its own: what verifies, and the reason for each refusal."""

from __future__ import annotations

import re

import pytest

from connectors.generic.webhook import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRefused,
    once_key,
    sign,
    signed_headers,
    verify,
)

SECRET = "s3cret"
BODY = b'{"events": []}'
NOW = 1_800_000_000.0


def refusal(headers: dict[str, str], body: bytes = BODY, secret: str = SECRET, now: float = NOW) -> str:
    with pytest.raises(WebhookRefused) as caught:
        verify(headers, body, secret, tolerance=300, now=now)
    return caught.value.reason


def test_signed_headers_verify_and_return_the_webhook_id() -> None:
    headers = signed_headers(SECRET, "wh_1", BODY, now=NOW)
    assert headers[TIMESTAMP_HEADER] == str(int(NOW))
    assert re.fullmatch(r"v1=[0-9a-f]{64}", headers[SIGNATURE_HEADER])
    assert verify(headers, BODY, SECRET, tolerance=300, now=NOW + 299) == "wh_1"


def test_the_signature_covers_timestamp_id_and_body() -> None:
    base = sign(SECRET, 100, "wh_1", BODY)
    assert base != sign(SECRET, 101, "wh_1", BODY)
    assert base != sign(SECRET, 100, "wh_2", BODY)
    assert base != sign(SECRET, 100, "wh_1", BODY + b" ")
    assert base != sign("other", 100, "wh_1", BODY)


@pytest.mark.parametrize("missing", [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_a_missing_header_is_unsigned(missing: str) -> None:
    headers = signed_headers(SECRET, "wh_1", BODY, now=NOW)
    del headers[missing]
    assert refusal(headers) == "unsigned"


def test_a_changed_body_is_a_bad_signature() -> None:
    headers = signed_headers(SECRET, "wh_1", BODY, now=NOW)
    assert refusal(headers, body=b'{"events": [{}]}') == "bad_signature"


def test_another_secret_is_a_bad_signature() -> None:
    assert refusal(signed_headers("not-the-secret", "wh_1", BODY, now=NOW)) == "bad_signature"


def test_a_swapped_webhook_id_is_a_bad_signature() -> None:
    headers = signed_headers(SECRET, "wh_1", BODY, now=NOW)
    headers[ID_HEADER] = "wh_2"
    assert refusal(headers) == "bad_signature"


def test_a_timestamp_that_is_not_integer_seconds_is_refused() -> None:
    headers = signed_headers(SECRET, "wh_1", BODY, now=NOW)
    headers[TIMESTAMP_HEADER] = "yesterday"
    assert refusal(headers) == "bad_signature"


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_outside_the_tolerance_is_stale(offset: int) -> None:
    assert refusal(signed_headers(SECRET, "wh_1", BODY, now=NOW + offset)) == "stale"


def test_any_one_of_several_signatures_may_match_during_a_secret_rotation() -> None:
    headers = signed_headers(SECRET, "wh_1", BODY, now=NOW)
    headers[SIGNATURE_HEADER] = f"{sign('old', int(NOW), 'wh_1', BODY)}, {headers[SIGNATURE_HEADER]}"
    assert verify(headers, BODY, SECRET, tolerance=300, now=NOW) == "wh_1"


def test_once_keys_are_valid_kv_keys_and_distinct() -> None:
    keys = {once_key(webhook_id) for webhook_id in ("wh 1", "wh/1", "wh:1", "ünïcode", "x" * 200)}
    assert len(keys) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9_=.-]+", key) for key in keys)
