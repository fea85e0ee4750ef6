"""Chat webhooks (WeCom ``wecombot://``, DingTalk ``dingtalk://``, ``json://`` ...) via apprise.

``NENGTAN_ALERT_WEBHOOKS`` holds space-separated apprise URLs; every URL gets the
message. Returns per-URL success so callers can record what happened; never raises.
"""

from __future__ import annotations

import logging
import os
import re

log = logging.getLogger(__name__)


def webhook_urls() -> list[str]:
    return os.environ.get("NENGTAN_ALERT_WEBHOOKS", "").split()


def redact(url: str) -> str:
    """Hide tokens/passwords when a URL is logged or recorded."""
    scheme, _, rest = url.partition("://")
    host = re.split(r"[/?]", rest.rsplit("@", 1)[-1], maxsplit=1)[0]
    return f"{scheme}://{host}/…" if "/" in rest or "?" in rest or "@" in rest else f"{scheme}://{host}"


def send_webhooks(title: str, body: str, urls: list[str] | None = None) -> dict[str, bool]:
    """Notify each URL; ``{redacted_url: delivered}``."""
    urls = webhook_urls() if urls is None else urls
    results: dict[str, bool] = {}
    if not urls:
        return results
    import apprise

    for url in urls:
        key = redact(url)
        app = apprise.Apprise()
        if not app.add(url):
            log.error("invalid webhook URL %s", key)
            results[key] = False
            continue
        try:
            ok = bool(app.notify(title=title, body=body))
        except Exception:  # apprise plugins may raise on network errors
            log.exception("webhook %s failed", key)
            ok = False
        if not ok:
            log.error("webhook %s was not delivered", key)
        results[key] = ok
    return results
