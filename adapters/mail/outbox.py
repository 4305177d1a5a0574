"""The default mailer: each mail goes to the `outbound_mail` table and the log.

Nothing leaves the machine. An operator (or a test) reads the table; a
deployment that must really deliver mail configures SMTP instead.
"""

from __future__ import annotations

import logging

from psycopg_pool import ConnectionPool

from application.identity.ports import Mail

log = logging.getLogger(__name__)


class OutboxMailer:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def send(self, mail: Mail) -> None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO outbound_mail (recipient, subject, body) VALUES (%s, %s, %s)"
                " RETURNING id",
                (mail.to, mail.subject, mail.body),
            ).fetchone()
        # The body holds a reset link, which is a credential: the log names
        # the mail and the table keeps it.
        log.info("mail %s to %s: %s (kept in outbound_mail)", row[0] if row else "?",
                 mail.to, mail.subject)
