"""Geocoding addresses with the Base Adresse Nationale (BAN), through the Géoplateforme search API.

`BanGeocoder(base_url)` asks `GET {base_url}/search/?q=<adresse commune>&postcode=<code postal>&limit=1`
and reads the GeoJSON answer (`features[0].geometry.coordinates` = [longitude, latitude],
`features[0].properties.score` and `.citycode`). An answer is kept only when its score reaches
`min_score` and it lies in the expected commune (INSEE code) or, when that code is unknown, the expected
postal code: a confident answer elsewhere in France is worse than no answer.

Any failure (timeout, HTTP error, invalid JSON, unexpected shape) counts as "not found": the import
then places the lieu at its commune and goes on. After `max_consecutive_errors` failures in a row the
geocoder stops calling the service for the rest of its life, so an unreachable service costs a few
timeouts, not one per row.

`geocoder_from_settings()` builds one from `MEDNUM_GEOCODER_URL` (None when it is empty: no geocoding).
Standard library only (urllib), no new dependency.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mednum.standard.normalise import in_france

logger = logging.getLogger(__name__)

USER_AGENT = "mednum-import/1.0"
# An answer of the search API for one address is a few kilobytes: more is not an answer to read.
MAX_ANSWER_BYTES = 1 << 20
# What a failing service may raise while answering: timeouts and connections (OSError), HTTP errors
# (URLError), malformed HTTP (HTTPException: truncated body, bad status line, header too long), bad
# or absurdly nested JSON (ValueError, RecursionError).
_SERVICE_ERRORS = (OSError, urllib.error.URLError, http.client.HTTPException, ValueError, RecursionError)


@dataclass(frozen=True, slots=True)
class GeocodeQuery:
    adresse: str
    code_postal: str = ""
    code_insee: str = ""
    commune: str = ""

    @property
    def text(self) -> str:
        return " ".join(part for part in (self.adresse.strip(), self.commune.strip()) if part)


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    latitude: float
    longitude: float
    score: float
    citycode: str = ""
    postcode: str = ""
    label: str = ""


class BanGeocoder:
    def __init__(
        self,
        base_url: str,
        timeout: float = 5.0,
        *,
        min_score: float = 0.5,
        max_workers: int = 4,
        max_consecutive_errors: int = 10,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.min_score = min_score
        self.max_workers = max(1, max_workers)
        self.max_consecutive_errors = max_consecutive_errors
        self._lock = threading.Lock()
        self._consecutive_errors = 0
        self._cache: dict[GeocodeQuery, GeocodeResult | None] = {}
        self.stats = {"requests": 0, "found": 0, "not_found": 0, "errors": 0, "rejected": 0}

    @property
    def disabled(self) -> bool:
        return self._consecutive_errors >= self.max_consecutive_errors

    def url_for(self, query: GeocodeQuery) -> str:
        params = {"q": query.text, "limit": "1"}
        if query.code_postal:
            params["postcode"] = query.code_postal
        return f"{self.base_url}/search/?{urllib.parse.urlencode(params)}"

    def _fetch(self, url: str) -> dict:
        """The JSON answer, read within `timeout` seconds in all (not per read: a service that sends a
        byte a second would otherwise hold the import or the search for minutes) and MAX_ANSWER_BYTES."""
        deadline = time.monotonic() + self.timeout
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
            body = bytearray()
            while chunk := response.read1(65536):
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise ValueError(f"réponse de plus de {MAX_ANSWER_BYTES} octets")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"réponse incomplète après {self.timeout:g} s")
            return json.loads(body.decode("utf-8"))

    def _accept(self, query: GeocodeQuery, feature: dict) -> GeocodeResult | None:
        properties = feature.get("properties") or {}
        coordinates = (feature.get("geometry") or {}).get("coordinates") or []
        score = float(properties.get("score") or 0)
        longitude, latitude = float(coordinates[0]), float(coordinates[1])
        if not (math.isfinite(score) and math.isfinite(latitude) and math.isfinite(longitude)):
            return None
        citycode = str(properties.get("citycode") or "")
        postcode = str(properties.get("postcode") or "")
        if score < self.min_score:
            return None
        if query.code_insee:
            if citycode != query.code_insee:
                return None
        elif query.code_postal and postcode and postcode != query.code_postal:
            return None
        if not in_france(latitude, longitude):  # swapped coordinates, (0, 0)…: not a French address
            return None
        label = "".join(char for char in str(properties.get("label") or "")[:300] if char.isprintable())
        return GeocodeResult(latitude, longitude, score, citycode, postcode, label[:200])

    def geocode(self, query: GeocodeQuery) -> GeocodeResult | None:
        if not query.text:
            return None
        with self._lock:
            if query in self._cache:
                return self._cache[query]
            if self.disabled:
                return None
            self.stats["requests"] += 1
        try:
            payload = self._fetch(self.url_for(query))
            features = payload.get("features") if isinstance(payload, dict) else None
            if not isinstance(features, list):
                raise ValueError("réponse sans « features »")
        except _SERVICE_ERRORS as error:
            self._count_error()
            logger.info("Géocodage impossible pour %r : %s", query.text, error)
            return None
        with self._lock:
            self._consecutive_errors = 0
        result = None
        if features:
            try:
                result = self._accept(query, features[0])
            except (TypeError, ValueError, IndexError, AttributeError):
                result = None
            if result is None:
                with self._lock:
                    self.stats["rejected"] += 1
        with self._lock:
            self.stats["found" if result else "not_found"] += 1
            if len(self._cache) < 100_000:
                self._cache[query] = result
        return result

    def geocode_many(self, queries: Sequence[GeocodeQuery]) -> list[GeocodeResult | None]:
        """Geocode a batch (a few requests in parallel); one result or None per query, in order."""
        if not queries or self.disabled:
            return [None] * len(queries)
        if self.max_workers == 1 or len(queries) == 1:
            return [self._geocode_or_none(q) for q in queries]
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(queries))) as pool:
            return list(pool.map(self._geocode_or_none, queries))

    def _geocode_or_none(self, query: GeocodeQuery) -> GeocodeResult | None:
        """`geocode`, where anything unforeseen costs this query only, not the batch's good answers."""
        try:
            return self.geocode(query)
        except Exception:  # noqa: BLE001 - counted as a service error, like the foreseen ones
            logger.exception("Géocodage de %r : erreur inattendue", query.text)
            self._count_error()
            return None

    def _count_error(self) -> None:
        """One more failure of the service; after `max_consecutive_errors` in a row, it is not called again."""
        with self._lock:
            self.stats["errors"] += 1
            self._consecutive_errors += 1
            if self._consecutive_errors == self.max_consecutive_errors:
                logger.warning("Géocodeur désactivé pour cet import après %s erreurs consécutives.",
                               self._consecutive_errors)


def geocoder_from_settings(timeout: float | None = None) -> BanGeocoder | None:
    from django.conf import settings

    url = (getattr(settings, "MEDNUM_GEOCODER_URL", "") or "").strip()
    if not url:
        return None
    if timeout is None:
        timeout = float(getattr(settings, "MEDNUM_GEOCODER_TIMEOUT", 5.0))
    return BanGeocoder(url, timeout=timeout)


# --- What a person types in the search box ------------------------------------------------------

# A house number first (« 12 rue… », « 3 bis… ») or a street word: the text is an address, not a commune.
_ADDRESS_HINT = re.compile(
    r"^\s*\d{1,4}\s*(?:bis|ter|quater|[a-d])?\b(?!\s*$)"
    r"|\b(?:rue|avenue|av|bd|boulevard|place|chemin|all[ée]e|impasse|route|quai|cours|square|passage|"
    r"faubourg|lotissement|r[ée]sidence|hameau|lieu-dit|sentier|voie|esplanade|promenade|mont[ée]e)\b",
    re.IGNORECASE,
)
_POSTAL_CODE = re.compile(r"\b(\d{5})\b")
# Seconds a person waits at most for the geocoder before the search falls back to the commune.
SEARCH_TIMEOUT = 3.0


def looks_like_address(text: str) -> bool:
    """« 12 rue de la Mairie, Sète » is an address; « Sète », « 34200 », « Saint-Denis » are not."""
    return bool(text) and bool(_ADDRESS_HINT.search(text))


def geocode_search_text(text: str) -> GeocodeResult | None:
    """The position of an address typed in a search box, when a geocoder is configured.

    None when no geocoder is configured, the service fails or times out (after SEARCH_TIMEOUT), or its
    answer is not confident (or lies outside the postal code typed). Answers, found or not, are kept an
    hour in Django's cache: a shared search link does not ask the service again.
    """
    from django.core.cache import cache

    geocoder = geocoder_from_settings(timeout=SEARCH_TIMEOUT)
    if geocoder is None or not text.strip():
        return None
    text = " ".join(text.split())[:200]
    key = "geocode:" + hashlib.sha256(f"{geocoder.base_url}|{text.casefold()}".encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    postal = _POSTAL_CODE.search(text)
    result = geocoder.geocode(GeocodeQuery(adresse=text, code_postal=postal.group(1) if postal else ""))
    if result is not None or geocoder.stats["errors"] == 0:  # a failing service is asked again next time
        cache.set(key, result or False, 3600)
    return result
