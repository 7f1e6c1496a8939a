"""The verifiers against the providers' published test vectors, the reference package, and bad headers."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from receiver.verifiers import Unauthentic
from receiver.verifiers.base import THREADED_CHECK_BYTES
from receiver.verifiers.standard_webhooks import StandardWebhooks
from receiver.verifiers.twelvelabs import TwelveLabsSignature
from receiver.verifiers.url_token import UrlToken
from tests.support import WHSEC

VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def sw_headers(msg_id: str, ts: int | str, signature: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


class TestStandardWebhooks:
    def test_published_vector_verifies(self) -> None:
        verifier = StandardWebhooks([WHSEC], 300)
        assert (
            verifier.check(sw_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIG), VECTOR_BODY, None, VECTOR_TS)
            == VECTOR_ID
        )

    def test_published_vector_is_what_sign_produces(self) -> None:
        signed = StandardWebhooks([WHSEC], 300).sign(VECTOR_BODY, VECTOR_TS, VECTOR_ID)
        assert signed.headers["webhook-signature"] == VECTOR_SIG

    def test_one_changed_body_byte_is_refused(self) -> None:
        with pytest.raises(Unauthentic) as caught:
            StandardWebhooks([WHSEC], 300).check(
                sw_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIG), b'{"test": 2432232315}', None, VECTOR_TS
            )
        assert caught.value.code == "invalid_signature"

    def test_any_listed_signature_and_any_active_secret_match(self) -> None:
        new_secret = "whsec_" + base64.b64encode(b"n" * 24).decode()
        verifier = StandardWebhooks([new_secret, WHSEC], 300)
        header = f"v1a,ignored v1,AAAA {VECTOR_SIG}"
        assert (
            verifier.check(sw_headers(VECTOR_ID, VECTOR_TS, header), VECTOR_BODY, None, VECTOR_TS)
            == VECTOR_ID
        )

    def test_retired_secret_is_refused(self) -> None:
        other = "whsec_" + base64.b64encode(b"x" * 24).decode()
        with pytest.raises(Unauthentic, match="active secret"):
            StandardWebhooks([other], 300).check(
                sw_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIG), VECTOR_BODY, None, VECTOR_TS
            )

    @pytest.mark.parametrize("skew", [-301, 301, -10_000_000])
    def test_timestamp_outside_tolerance_either_way(self, skew: int) -> None:
        with pytest.raises(Unauthentic) as caught:
            StandardWebhooks([WHSEC], 300).check(
                sw_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIG), VECTOR_BODY, None, VECTOR_TS - skew
            )
        assert caught.value.code == "timestamp_out_of_tolerance"

    @pytest.mark.parametrize(
        ("headers", "code"),
        [
            ({}, "missing_signature"),
            ({"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS)}, "missing_signature"),
            (sw_headers("", VECTOR_TS, VECTOR_SIG), "missing_signature"),
            (sw_headers(VECTOR_ID, "soon", VECTOR_SIG), "invalid_signature"),
            (sw_headers(VECTOR_ID, "-5", VECTOR_SIG), "invalid_signature"),
            (sw_headers(VECTOR_ID, "１６１４２６５３３０", VECTOR_SIG), "invalid_signature"),  # noqa: RUF001
            (sw_headers(VECTOR_ID, VECTOR_TS, "garbage"), "invalid_signature"),
            (sw_headers(VECTOR_ID, VECTOR_TS, "v1,"), "invalid_signature"),
            (sw_headers(VECTOR_ID, VECTOR_TS, "v1," + "A" * 5000), "invalid_signature"),
        ],
    )
    def test_malformed_headers_are_unauthentic(self, headers: dict[str, str], code: str) -> None:
        with pytest.raises(Unauthentic) as caught:
            StandardWebhooks([WHSEC], 300).check(headers, VECTOR_BODY, None, VECTOR_TS)
        assert caught.value.code == code

    @settings(max_examples=60, deadline=None)
    @given(
        text=st.text(max_size=300),
        msg_id=st.text(st.characters(codec="ascii", exclude_characters=" ,"), min_size=1, max_size=40),
        key=st.binary(min_size=16, max_size=48),
    )
    def test_agrees_with_reference_package_both_ways(self, text: str, msg_id: str, key: bytes) -> None:
        secret = "whsec_" + base64.b64encode(key).decode()
        now = int(time.time())
        body = text.encode()
        ours = StandardWebhooks([secret], 300)
        reference = Webhook(secret)

        reference.verify(
            body, ours.sign(body, now, msg_id).headers, json_parse=False
        )  # raises on disagreement

        signature = reference.sign(msg_id, datetime.fromtimestamp(now, tz=UTC), text)
        assert ours.check(sw_headers(msg_id, now, signature), body, None, now) == msg_id

    def test_reference_refuses_what_we_refuse(self) -> None:
        headers = sw_headers(VECTOR_ID, int(time.time()), VECTOR_SIG)
        with pytest.raises(WebhookVerificationError):
            Webhook(WHSEC).verify(VECTOR_BODY, headers)
        with pytest.raises(Unauthentic):
            StandardWebhooks([WHSEC], 300).check(headers, VECTOR_BODY, None, time.time())

    def test_bad_secret_is_refused_at_construction(self) -> None:
        with pytest.raises(ValueError, match="base64"):
            StandardWebhooks(["whsec_not*base64"], 300)


class TestTwelveLabs:
    VECTOR = "t=1659342128,v1=385d14560af4ef4d9ed6a143f1dfbc2529c720b560bc3f463582bcabd146a44c"

    def test_published_vector(self) -> None:
        verifier = TwelveLabsSignature(["tl_test_secret"], 300)
        assert verifier.check({"tl-signature": self.VECTOR}, b'{"name":"test"}', None, 1659342128) is None
        assert verifier.sign(b'{"name":"test"}', 1659342128).headers["TL-Signature"] == self.VECTOR

    def test_rotation_accepts_any_active_secret(self) -> None:
        verifier = TwelveLabsSignature(["new-secret", "tl_test_secret"], 300)
        verifier.check({"tl-signature": self.VECTOR}, b'{"name":"test"}', None, 1659342128)

    @pytest.mark.parametrize(
        ("header", "now", "code"),
        [
            (None, 1659342128, "missing_signature"),
            ("", 1659342128, "missing_signature"),
            ("t=abc,v1=00", 1659342128, "invalid_signature"),
            ("v1=385d", 1659342128, "invalid_signature"),
            ("t=1659342128", 1659342128, "invalid_signature"),
            ("t=1659342128,v1=" + "0" * 64, 1659342128, "invalid_signature"),
            (VECTOR, 1659342128 + 301, "timestamp_out_of_tolerance"),
            (VECTOR, 1659342128 - 301, "timestamp_out_of_tolerance"),
            ("t=1659342128,v1=" + "a" * 5000, 1659342128, "invalid_signature"),
        ],
    )
    def test_bad_headers(self, header: str | None, now: int, code: str) -> None:
        headers = {} if header is None else {"tl-signature": header}
        with pytest.raises(Unauthentic) as caught:
            TwelveLabsSignature(["tl_test_secret"], 300).check(headers, b'{"name":"test"}', None, now)
        assert caught.value.code == code


class TestUrlToken:
    def test_current_and_previous_tokens_pass(self) -> None:
        verifier = UrlToken(["current", "previous"])
        assert verifier.check({}, b"", "current", 0) is None
        assert verifier.check({}, b"", "previous", 0) is None
        assert verifier.sign(b"", 0).path_suffix == "/current"

    @pytest.mark.parametrize(
        ("token", "code"),
        [
            (None, "missing_signature"),
            ("", "missing_signature"),
            ("curren", "invalid_token"),
            ("current ", "invalid_token"),
        ],
    )
    def test_wrong_tokens(self, token: str | None, code: str) -> None:
        with pytest.raises(Unauthentic) as caught:
            UrlToken(["current"]).check({}, b"", token, 0)
        assert caught.value.code == code


class ThreadRecording(StandardWebhooks):
    """Standard Webhooks, noting the thread each check ran in."""

    def __init__(self) -> None:
        super().__init__([WHSEC], 300)
        self.threads: list[int] = []

    def check(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        self.threads.append(threading.get_ident())
        return super().check(headers, body, token, now)


@pytest.mark.parametrize("size", [100, THREADED_CHECK_BYTES + 1])
async def test_a_large_body_is_checked_off_the_event_loop_with_the_same_answer(size: int) -> None:
    """Above THREADED_CHECK_BYTES the check runs in a worker thread, with the same answers."""
    body = b"x" * size
    verifier = ThreadRecording()
    now = time.time()
    signed = verifier.sign(body, now, "msg_large")
    assert await verifier.verify(signed.headers, body, None, now) == "msg_large"
    with pytest.raises(Unauthentic):
        await verifier.verify(signed.headers, body + b"y", None, now)
    on_the_loop = [ident == threading.get_ident() for ident in verifier.threads]
    assert on_the_loop == [size <= THREADED_CHECK_BYTES] * 2
