"""A real SMTP server for the posting tests: aiosmtpd (Debian's python3-aiosmtpd, run with
/usr/bin/python3) on 127.0.0.1, port chosen by the system and printed on the first line of
stdout as `port N`. Each accepted mail is written to DIR/N.json (envelope, data, the AUTH user).

Recipients whose local part starts with `reject` get `550 5.7.1`, with `tempfail` `451 4.7.1`,
so tests can see a relay refuse. Options: --starttls CERT KEY (STARTTLS required), --tls CERT KEY
(implicit TLS), --auth USER:PASSWORD (AUTH PLAIN/LOGIN required, after TLS).
"""

import argparse
import warnings

warnings.filterwarnings("ignore")
import asyncio
import base64
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.7.1 <%s>: rejected by the test relay's policy" % address
        if local.startswith("tempfail"):
            return "451 4.7.1 <%s>: greylisted by the test relay, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": base64.b64encode(envelope.original_content or envelope.content).decode(),
            "auth_user": (session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None),
            "tls": server.transport.get_extra_info("ssl_object") is not None,
        }
        path = os.path.join(self.folder, "%d.json" % self.count)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Ok: queued as SINK%d" % self.count


def main():
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--starttls", nargs=2)
    p.add_argument("--tls", nargs=2)
    p.add_argument("--auth")
    a = p.parse_args()
    kwargs = {}
    if a.starttls or a.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*(a.starttls or a.tls))
        if a.starttls:
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
    if a.auth:
        user, password = a.auth.split(":", 1)

        def check(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
                and auth_data.password.decode() == password
            return AuthResult(success=ok, auth_data=auth_data)

        # Under implicit TLS aiosmtpd does not count the connection as TLS for AUTH.
        kwargs.update(authenticator=check, auth_required=True, auth_require_tls=bool(a.starttls))
    # aiosmtpd connects to its port to see it listening, so it needs a port number, not 0.
    controller = Controller(Sink(a.folder), hostname="127.0.0.1", port=free_port(), server_hostname="relay.test",
                            **kwargs)
    controller.start()
    print("port %d" % controller.port, flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin (or is gone)
    finally:
        controller.stop()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
