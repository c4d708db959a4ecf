"""A real SMTP server for tests and benchmarks (aiosmtpd in a thread), that keeps what it
accepted and can be told to be slow, to refuse, or to fail part-way."""

from __future__ import annotations

import asyncio
import email
import threading
from collections import Counter
from email.message import Message

from aiosmtpd.controller import Controller

from tests.support.services import free_port


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        # Knobs a test turns:
        self.rcpt_reply: str | None = None  # e.g. "550 5.1.1 No such user"
        self.data_reply: str | None = None  # e.g. "451 4.3.0 Try again later"
        self.delay_before_accept = 0.0  # a client that dies during this stores nothing
        self.delay_after_accept = 0.0  # stored, but the client has not heard "250" yet
        self.data_started = threading.Event()
        self.accepted = threading.Event()
        self.connections = 0
        self.data_attempts = 0
        self.controller: Controller | None = None

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_attempts += 1
        self.data_started.set()
        if self.data_reply:
            return self.data_reply
        if self.delay_before_accept:
            # If the client disconnects now, aiosmtpd cancels this coroutine: like a mail
            # server that had not yet committed the message, nothing is kept.
            await asyncio.sleep(self.delay_before_accept)
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        self.accepted.set()
        if self.delay_after_accept:
            await asyncio.sleep(self.delay_after_accept)
        return "250 2.0.0 Message accepted for delivery"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self) -> list[Message]:
        with self.lock:
            return list(self.messages)

    def message_ids(self) -> Counter:
        return Counter(message["Message-ID"] for message in self.received())

    def to(self, address: str) -> list[Message]:
        return [m for m in self.received() if address in (m["X-Envelope-To"] or "")]


def main() -> None:
    """`python -m tests.notifications.smtp_sink PORT FILE`: a sink in its own process (for
    the benchmark), writing the Message-ID of each accepted message to FILE, one a line."""
    import signal
    import sys

    port, path = int(sys.argv[1]), sys.argv[2]
    sink = SmtpSink()
    sink.port = port
    record = open(path, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    original = sink.handle_DATA

    async def handle_data(server, session, envelope):
        reply = await original(server, session, envelope)
        if reply.startswith("250"):
            record.write(f"{sink.messages[-1]['Message-ID']}\n")
        return reply

    sink.handle_DATA = handle_data
    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # the server's thread inherits this
    sink.start()
    print("ready", flush=True)
    signal.sigwait(stop)
    sink.stop()
    record.close()


if __name__ == "__main__":
    main()
