"""Fault: the IMAP connection drops in the middle of a batch. No message may be lost, none ingested twice.

Between `poll_imap` and dovecot (started on loopback as in test_imap.py) sits a small TCP proxy that
cuts the connection at a chosen point of the conversation: when the client sends its Nth command of a
kind (the fetch of a message, or the \\Seen flag after a message was stored), or halfway through the
server's answer to it, or by going silent (a half-open connection: no FIN, no RST). The poll must end
with an error (the next one carries on), and the next poll must receive exactly the rest.

PostgreSQL pass only (transactional tests and a mail server: run once, see COMMON rules).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from django.db import connection

from steward.cases.models import Message
from steward.mail.models import InboundMail, InboundState
from steward.mail.tasks import poll_imap

from .helpers import make_mail
from .test_imap import _append, _seen_by_subject, imap_port, mailbox_user  # noqa: F401  (fixtures)

MESSAGES = 5


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("IMAP fault tests run once, in the PostgreSQL pass (scripts/test.sh)")


class CuttingProxy:
    """Forwards each connection to the IMAP server; the first connection is cut once, as armed.

    `trigger`: the client command that counts (b"UID FETCH", b"UID STORE"); on its `nth` occurrence:
    - "close": close both sides before that command reaches the server;
    - "mid-answer": forward the command, pass the first bytes of the answer, then close both sides;
    - "silent": swallow that command and everything after it, keeping the sockets open.
    """

    def __init__(self, target_port: int, *, trigger: bytes, nth: int, how: str) -> None:
        self.target_port = target_port
        self.trigger, self.nth, self.how = trigger, nth, how
        self.seen = 0
        self.cut = threading.Event()
        self.cut_done = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, server]
            armed = not self.cut_done
            self.cut_done = True  # only the first connection is cut: the next poll gets through
            threading.Thread(target=self._client_to_server, args=(client, server, armed), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(server, client, armed), daemon=True).start()

    def _client_to_server(self, client: socket.socket, server: socket.socket, armed: bool) -> None:
        try:
            while data := client.recv(65536):
                if armed and self.trigger in data:
                    self.seen += 1
                    if self.seen == self.nth:
                        self.cut.set()
                        if self.how == "close":
                            self._close(client, server)
                            return
                        if self.how == "silent":
                            while client.recv(65536):  # swallow: the client waits for an answer
                                pass
                            return
                server.sendall(data)
        except OSError:
            pass
        finally:
            if not (armed and self.how == "silent" and self.cut.is_set()):
                self._close(client, server)

    def _server_to_client(self, server: socket.socket, client: socket.socket, armed: bool) -> None:
        try:
            while data := server.recv(65536):
                if armed and self.how == "silent" and self.cut.is_set():
                    continue  # the server's answers never arrive
                if armed and self.how == "mid-answer" and self.cut.is_set():
                    client.sendall(data[: max(1, len(data) // 2)])
                    self._close(client, server)
                    return
                client.sendall(data)
        except OSError:
            pass
        finally:
            if not (armed and self.how == "silent" and self.cut.is_set()):
                self._close(client, server)

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def stop(self) -> None:
        self.stopping = True
        self._close(*self.sockets)


@pytest.fixture
def proxy(request, imap_port, mailbox_user, settings) -> Iterator[CuttingProxy]:  # noqa: F811
    trigger, nth, how = request.param
    cutter = CuttingProxy(imap_port, trigger=trigger, nth=nth, how=how)
    settings.STEWARD_IMAP_PORT = cutter.port  # poll_imap goes through the proxy
    settings.STEWARD_IMAP_TIMEOUT = 3  # a silent server is given up on after this many seconds
    yield cutter
    cutter.stop()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "proxy",
    [
        pytest.param((b"UID FETCH", 3, "close"), id="dropped-before-the-third-fetch"),
        pytest.param((b"UID FETCH", 3, "mid-answer"), id="dropped-halfway-through-the-third-message"),
        pytest.param((b"UID STORE", 3, "close"), id="dropped-after-the-third-was-stored-before-seen"),
        pytest.param((b"UID STORE", 2, "silent"), id="server-goes-silent-after-the-second-was-stored"),
    ],
    indirect=True,
)
def test_a_dropped_connection_loses_no_message_and_ingests_none_twice(
    personas,
    imap_port,  # noqa: F811
    mailbox_user,  # noqa: F811
    proxy: CuttingProxy,
) -> None:
    subjects = [f"Dropped connection {i}" for i in range(MESSAGES)]
    _append(
        imap_port,
        mailbox_user,
        *(
            make_mail(sender=f"drop{i}@example.net", subject=s, body=f"Message {i}")
            for i, s in enumerate(subjects)
        ),
    )

    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(_run(poll_imap)), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "poll_imap hung on a silent connection"
    assert proxy.cut.is_set()
    assert isinstance(outcome[0], Exception), outcome  # the poll ends with the connection error
    stored_first = InboundMail.objects.filter(state=InboundState.PROCESSED).count()
    assert 1 <= stored_first < MESSAGES

    second = poll_imap()  # the next poll, on a working connection
    assert second["failed"] == 0
    assert poll_imap() == {"stored": 0, "failed": 0}  # nothing left unseen

    # Nothing lost: every message is a case message; nothing twice: exactly one each.
    for i, subject in enumerate(subjects):
        assert Message.objects.filter(case__subject=subject, body=f"Message {i}").count() == 1, subject
        assert InboundMail.objects.filter(subject=subject, state=InboundState.PROCESSED).count() == 1
    # A message stored before the drop but not yet flagged Seen is fetched again: it is recorded as a
    # duplicate of the first (its Message-ID), never a second case message.
    assert not InboundMail.objects.exclude(
        state__in=[InboundState.PROCESSED, InboundState.IGNORED_DUPLICATE]
    ).exists()
    assert all(_seen_by_subject(imap_port, mailbox_user).values())


def _run(func):
    try:
        return func()
    except Exception as exc:
        return exc
    finally:
        connection.close()  # the thread's own database connection
