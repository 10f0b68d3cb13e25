"""One redactor for everything the kit stores or logs, and one escaper for text put in the report.

* `redact(text)` removes the secrets the kit has met (API keys read from the environment variables
  the models spec names, registered with `add_secret`) and the credentials of any URL
  (`http://user:password@host` becomes `http://***@host`). Stored responses, prediction logs,
  error texts and every log line of a job (dvmap.files.logged) go through it.
* `escape_report_text(text)` makes text from specs, claims or model outputs inert in the
  reStructuredText the Snakemake report renders: every punctuation character is backslash-escaped
  (so `.. raw:: html`, roles, links and substitutions are plain text, and docutils then HTML-escapes
  `<img ...>` like any text) and line breaks become spaces (a cell cannot open a block).
"""
from __future__ import annotations

import os
import re
import string
import threading
from collections.abc import Iterable, Mapping

MASK = "***"
# scheme://userinfo@ ; userinfo has no '/', '@' or whitespace (RFC 3986); at least one char
URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/@\s\"'<>]+)@")
# Secrets shorter than this are not registered: replacing "a" or "1" everywhere would garble text.
MIN_SECRET_LENGTH = 6

_secrets: set[str] = set()
_lock = threading.Lock()


def add_secret(value: str | None) -> None:
    """Remember a secret (an API key) so that every later `redact` removes it."""
    if value and len(value) >= MIN_SECRET_LENGTH and value != "not-needed":
        with _lock:
            _secrets.add(value)


def secrets_from_env(names: Iterable[str | None], environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the environment variables `names` (the specs' `api_key_env`), registered as secrets."""
    environ = os.environ if environ is None else environ
    found = [environ[n] for n in names if n and environ.get(n)]
    for value in found:
        add_secret(value)
    return found


def redact(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    """`text` without URL credentials, the registered secrets and `secrets` (each replaced by ***)."""
    if text is None:
        return None
    text = str(text)
    with _lock:
        known = [*_secrets]
    for secret in sorted({*known, *(s for s in secrets if s)}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    if "@" in text and "://" in text:
        text = URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return text


def url_without_credentials(url: str) -> str:
    """An endpoint URL as it may be shown: its user and password replaced by ***."""
    return URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{MASK}@", url)


_RST_SPECIAL = frozenset(string.punctuation)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape_report_text(text: str | None) -> str:
    """`text` as inert reStructuredText inline content (one line; every punctuation character
    backslash-escaped; control characters dropped), for a caption or a csv-table cell of the report."""
    if text is None:
        return ""
    text = _CONTROL.sub("", str(text)).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return "".join("\\" + ch if ch in _RST_SPECIAL else ch for ch in text)
