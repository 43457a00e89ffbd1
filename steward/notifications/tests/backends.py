"""A mail backend that fails the first N sends like a mail server that is down, then delivers to locmem."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence

from django.core.mail.backends.locmem import EmailBackend
from django.core.mail.message import EmailMessage

FLAKY = "steward.notifications.tests.backends.FlakyBackend"  # for override_settings(EMAIL_BACKEND=...)


class FlakyBackend(EmailBackend):
    failures_left = 0  # set by the test; -1 fails forever
    calls = 0

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        FlakyBackend.calls += 1
        if FlakyBackend.failures_left != 0:
            FlakyBackend.failures_left -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(email_messages)


class RefusingBackend(EmailBackend):
    """The server refuses the recipient: a permanent failure."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"No such user")})
