"""Content-Security-Policy: what the browser may load and run on mednum's pages.

The site's pages hold imported texts (names, presentations of lieux, sanitised with nh3 on the way in and
escaped on the way out); the policy is a second line of defence: a script slipped into a page would not
run. Scripts come only from the site's own static files; the few inline scripts the pages need are listed
in `SCRIPTS_EN_LIGNE` and allowed by their SHA-256 hash (the same text on every page, so pages stay
cacheable: no per-request nonce). Data blocks (`application/ld+json`, `application/json`) are not run
and need nothing.

- Styles: the site's files, plus inline styles, which some pages of Django's administration, of
  django-simple-history and of django-dsfr write in their markup (a style cannot run code).
- Images: the site, `data:` and `blob:` URLs (icons, the map's canvas images).
- Workers: `blob:` (MapLibre starts its worker from its own code).
- Connections (`fetch`): the site's API; with an online base map (`MEDNUM_MAP_STYLE_URL`), any HTTPS
  server too, since its style names tile, font and sprite servers that only it knows; images likewise.
- Frames: a page of the site may not be shown inside another site's page (`frame-ancestors 'none'`, as
  `X-Frame-Options: DENY`), except the views marked `xframe_options_exempt` (the widget for partners).
- With DEBUG on, error responses (Django's technical pages) are sent without a policy.
- `MEDNUM_CSP_REPORT_ONLY=true` sends the policy as `Content-Security-Policy-Report-Only`: browsers then
  report what it would block (in their console) without blocking it, to check a new deployment.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from django.conf import settings

# Every inline script of the site's pages, by name (`{% script_en_ligne "nom" %}` writes it).
SCRIPTS_EN_LIGNE = {
    # The search's filters are folded on a phone screen before the page is first drawn (no jump).
    "repli_filtres": (
        '(function (f) { if (f && window.matchMedia && window.matchMedia("(max-width: 47.98em)").matches) '
        'f.open = false; })(document.getElementById("filtres"));'
    ),
}


def empreinte(script: str) -> str:
    """The CSP source allowing this exact inline script: `'sha256-…'`."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


@lru_cache(maxsize=4)
def politique(*, integrable: bool, fond_en_ligne: bool) -> str:
    """The policy's text. `integrable`: the page may be shown in another site's frame (widget);
    `fond_en_ligne`: an online base map is configured."""
    scripts = " ".join(empreinte(texte) for texte in SCRIPTS_EN_LIGNE.values())
    distant = " https:" if fond_en_ligne else ""
    directives = [
        "default-src 'self'",
        f"script-src 'self' {scripts}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob:{distant}",
        "font-src 'self'",
        f"connect-src 'self'{distant}",
        "worker-src 'self' blob:",
        "child-src 'self' blob:",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors *" if integrable else "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response that has none (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Django's own error pages in DEBUG (tracebacks, 404 with the routes) use inline scripts.
        if settings.DEBUG and response.status_code >= 400:
            return response
        header = (
            "Content-Security-Policy-Report-Only"
            if getattr(settings, "MEDNUM_CSP_REPORT_ONLY", False)
            else "Content-Security-Policy"
        )
        if header not in response:
            response[header] = politique(
                integrable=bool(getattr(response, "xframe_options_exempt", False)),
                fond_en_ligne=bool(getattr(settings, "MEDNUM_MAP_STYLE_URL", "")),
            )
        return response
