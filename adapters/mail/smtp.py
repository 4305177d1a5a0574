"""Mail over SMTP with the standard library, used when SMTP is configured."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from adapters.config.identity import SmtpSettings
from application.identity.ports import Mail

log = logging.getLogger(__name__)


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self._settings.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        s = self._settings
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as client:
            if s.starttls:
                client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, s.password)
            client.send_message(message)
        log.info("mail to %s sent through %s:%s: %s", mail.to, s.host, s.port, mail.subject)
