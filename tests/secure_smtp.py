"""An SMTP server for torn's tests: aiosmtpd with TLS and AUTH, storing mail in a Maildir.

    python3 secure_smtp.py MODE PORT MAILDIR CERT KEY USER PASSWORD

MODE is `starttls` (STARTTLS required before AUTH or MAIL) or `smtps` (TLS from the start).
AUTH (PLAIN or LOGIN) with USER and PASSWORD is required before a message is accepted.
"""

import logging
import signal
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


def main() -> None:
    # The tests provoke failed handshakes and logins on purpose; keep their output quiet.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    mode, port, maildir, cert, key, user, password = sys.argv[1:8]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    options = dict(
        hostname="127.0.0.1",
        port=int(port),
        authenticator=authenticator,
        auth_required=True,
    )
    if mode == "starttls":
        controller = Controller(
            Mailbox(maildir), tls_context=context, require_starttls=True, **options
        )
    elif mode == "smtps":
        # With TLS from the start, AUTH over the already-encrypted connection is fine.
        controller = Controller(
            Mailbox(maildir),
            ssl_context=context,
            auth_require_tls=False,
            **options,
        )
    else:
        sys.exit(f"unknown mode {mode!r}")
    controller.start()
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    controller.stop()


if __name__ == "__main__":
    main()
