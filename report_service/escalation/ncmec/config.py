"""The CyberTipline settings (``FRANKLY_NCMEC_*``) as a client and a company profile."""

from __future__ import annotations

import os
import stat

from report_service.escalation.ncmec.client import CyberTiplineClient
from report_service.escalation.ncmec.content import CompanyProfile
from report_service.escalation.ncmec.errors import NotConfigured
from report_service.settings import Settings


def configured(settings: Settings) -> bool:
    """Whether an endpoint and credentials are set (nothing is sent otherwise)."""
    has_password = settings.ncmec_password is not None or settings.ncmec_password_file is not None
    return bool(settings.ncmec_url and settings.ncmec_username and has_password)


def password(settings: Settings) -> str:
    """The CyberTipline password: the setting, or the first line of the password file.

    Raises:
        NotConfigured: neither is set, or the file is unreadable, empty or readable by
            group or others.
    """
    if settings.ncmec_password is not None:
        return settings.ncmec_password.get_secret_value()
    path = settings.ncmec_password_file
    if path is None:
        raise NotConfigured("set FRANKLY_NCMEC_PASSWORD or FRANKLY_NCMEC_PASSWORD_FILE")
    try:
        mode = os.stat(path).st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotConfigured(f"cannot read FRANKLY_NCMEC_PASSWORD_FILE ({exc.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise NotConfigured("FRANKLY_NCMEC_PASSWORD_FILE must not be readable by others (0600)")
    line = text.strip().splitlines()[0] if text.strip() else ""
    if not line:
        raise NotConfigured("FRANKLY_NCMEC_PASSWORD_FILE is empty")
    return line


def client(settings: Settings) -> CyberTiplineClient:
    """A client for the configured endpoint.

    Raises:
        NotConfigured: no URL, user name or password.
    """
    if not configured(settings) or settings.ncmec_url is None or settings.ncmec_username is None:
        raise NotConfigured(
            "CyberTipline submission is not configured: set FRANKLY_NCMEC_URL, "
            "FRANKLY_NCMEC_USERNAME and FRANKLY_NCMEC_PASSWORD (or _PASSWORD_FILE)"
        )
    return CyberTiplineClient(
        settings.ncmec_url,
        settings.ncmec_username,
        password(settings),
        timeout_s=settings.ncmec_timeout_s,
    )


def profile(settings: Settings) -> CompanyProfile:
    """The reporting company as the settings describe it.

    Raises:
        NotConfigured: no reporter e-mail address.
    """
    if not settings.ncmec_reporter_email:
        raise NotConfigured("set FRANKLY_NCMEC_REPORTER_EMAIL (the reporting person's address)")
    return CompanyProfile(
        first_name=settings.ncmec_reporter_first_name,
        last_name=settings.ncmec_reporter_last_name,
        email=settings.ncmec_reporter_email,
        company_template=settings.ncmec_company_template,
        legal_url=settings.ncmec_legal_url,
        terms_of_service=settings.ncmec_terms_of_service,
        esp_service=settings.ncmec_esp_service,
    )
