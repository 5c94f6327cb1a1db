"""The BAN geocoder adapter, against a local fake of the BAN search API (never the internet)."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mednum.geo.geocoder import BanGeocoder, GeocodeQuery, geocoder_from_settings


def feature(lat, lon, score=0.9, citycode="51454", postcode="51100", label="1 Rue de Vesle 51100 Reims"):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"score": score, "citycode": citycode, "postcode": postcode, "label": label}}


class FakeBan(BaseHTTPRequestHandler):
    """Answers like BAN's /search/; the address text chooses the behaviour."""

    requests: list[dict] = []

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        params = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        FakeBan.requests.append({"path": url.path, **params})
        q = params.get("q", "")
        if url.path != "/search/":
            return self._send(404, b"{}")
        if "lent" in q:
            time.sleep(1.5)
            return self._send(200, json.dumps({"features": [feature(49.25, 4.03)]}).encode())
        if "erreur" in q:
            return self._send(500, b"Internal Server Error")
        if "casse" in q:
            return self._send(200, b'{"features": [')
        if "vide" in q:
            return self._send(200, json.dumps({"type": "FeatureCollection", "features": []}).encode())
        # Malformed HTTP and absurd answers (each used to escape the adapter, or to be believed):
        if "tronque" in q:  # announces more than it sends, then closes
            self.send_response(200)
            self.send_header("Content-Length", "5000")
            self.end_headers()
            return self.wfile.write(b'{"features": [')
        if "statut" in q:  # not HTTP at all
            return self.wfile.write(b"bonjour\r\n\r\n")
        if "goutte" in q:  # a byte every 0.2 s: each read is quick, the whole answer is not
            self.send_response(200)
            self.send_header("Content-Length", "200")
            self.end_headers()
            for _ in range(200):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return None
                time.sleep(0.2)
            return None
        if "profond" in q:
            return self._send(200, b'{"features": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
        if "nan" in q:
            return self._send(200, b'{"features": [{"geometry": {"coordinates": [4.03, 49.25]}, '
                                   b'"properties": {"score": NaN, "citycode": "51454", "postcode": "51100"}}]}')
        if "inverse" in q:  # [lat, lon] instead of [lon, lat]
            return self._send(200, json.dumps({"features": [feature(4.03, 49.25)]}).encode())
        if "zero" in q:
            return self._send(200, json.dumps({"features": [feature(0, 0)]}).encode())
        if "etiquette" in q:
            label = "1 Rue de Vesle\x00\u202e" + "x" * 100_000
            return self._send(200, json.dumps({"features": [feature(49.25, 4.03, label=label)]}).encode())
        if "douteux" in q:
            return self._send(200, json.dumps({"features": [feature(49.25, 4.03, score=0.3)]}).encode())
        if "ailleurs" in q:
            return self._send(200, json.dumps({"features": [feature(43.6, 1.44, citycode="31555", postcode="31000")]}).encode())
        return self._send(200, json.dumps({"type": "FeatureCollection", "features": [feature(49.2501, 4.0302)]}).encode())

    def _send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def ban():
    FakeBan.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBan)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def query(adresse="1 rue de Vesle", **kwargs):
    return GeocodeQuery(adresse=adresse, code_postal=kwargs.get("code_postal", "51100"),
                        code_insee=kwargs.get("code_insee", "51454"), commune=kwargs.get("commune", "Reims"))


def test_found(ban):
    geocoder = BanGeocoder(ban + "/", timeout=1)
    result = geocoder.geocode(query())
    assert (result.latitude, result.longitude) == (49.2501, 4.0302)  # GeoJSON is [lon, lat]
    assert result.score == 0.9 and result.citycode == "51454"
    sent = FakeBan.requests[0]
    assert sent == {"path": "/search/", "q": "1 rue de Vesle Reims", "postcode": "51100", "limit": "1"}


@pytest.mark.parametrize("adresse", ["vide", "douteux", "ailleurs"])
def test_not_accepted(ban, adresse):
    geocoder = BanGeocoder(ban, timeout=1)
    assert geocoder.geocode(query(adresse)) is None
    assert geocoder.stats["errors"] == 0


def test_postcode_checked_when_the_insee_code_is_unknown(ban):
    geocoder = BanGeocoder(ban, timeout=1)
    assert geocoder.geocode(query(code_insee="")) is not None
    assert geocoder.geocode(query("2 rue", code_insee="", code_postal="51000")) is None


@pytest.mark.parametrize("adresse", ["lent", "erreur", "casse"])
def test_failures_give_no_result(ban, adresse):
    geocoder = BanGeocoder(ban, timeout=0.3)
    assert geocoder.geocode(query(adresse)) is None
    assert geocoder.stats["errors"] == 1


def test_batch_keeps_order_and_caches(ban):
    geocoder = BanGeocoder(ban, timeout=1, max_workers=4)
    results = geocoder.geocode_many([query(), query("vide"), query("erreur"), query()])
    assert [r is not None for r in results] == [True, False, False, True]
    assert len([r for r in FakeBan.requests if r["q"].startswith("1 rue")]) <= 2


def test_stops_calling_after_consecutive_errors(ban):
    geocoder = BanGeocoder(ban, timeout=1, max_consecutive_errors=3, max_workers=1)
    geocoder.geocode_many([query(f"erreur {n}") for n in range(10)])
    assert len(FakeBan.requests) == 3 and geocoder.disabled
    assert geocoder.geocode(query()) is None


@pytest.mark.parametrize("adresse", ["tronque", "statut", "profond"])
def test_malformed_answers_are_errors(ban, adresse):
    """A truncated body (IncompleteRead), a bad status line (BadStatusLine) or JSON nested too deep
    (RecursionError) escaped the adapter: the search page answered 500."""
    geocoder = BanGeocoder(ban, timeout=1)
    assert geocoder.geocode(query(adresse)) is None
    assert geocoder.stats["errors"] == 1


def test_an_answer_that_trickles_in_is_cut_at_the_timeout(ban):
    """Each byte arrives well within the timeout, but the whole answer would take 40 s."""
    geocoder = BanGeocoder(ban, timeout=1)
    started = time.monotonic()
    assert geocoder.geocode(query("goutte")) is None
    assert time.monotonic() - started < 3
    assert geocoder.stats["errors"] == 1


@pytest.mark.parametrize("adresse", ["nan", "inverse", "zero"])
def test_absurd_positions_and_scores_are_not_believed(ban, adresse):
    """A NaN score passed `score < min_score`; swapped coordinates or (0, 0) passed for the right
    commune code."""
    geocoder = BanGeocoder(ban, timeout=1)
    assert geocoder.geocode(query(adresse)) is None
    assert geocoder.stats["errors"] == 0 and geocoder.stats["rejected"] == 1


def test_the_label_is_cut_and_cleaned(ban):
    result = BanGeocoder(ban, timeout=1).geocode(query("etiquette"))
    assert result is not None and len(result.label) == 200
    assert result.label.startswith("1 Rue de Vesle") and "\x00" not in result.label and "\u202e" not in result.label


def test_one_bad_answer_costs_its_query_only(ban):
    """In a batch, an error used to escape `pool.map` and the import dropped every answer of the batch."""
    geocoder = BanGeocoder(ban, timeout=1, max_workers=4)
    results = geocoder.geocode_many([query(), query("tronque"), query("2 rue de Vesle"), query("profond")])
    assert [r is not None for r in results] == [True, False, True, False]
    assert geocoder.stats["errors"] == 2


def test_unreachable_service():
    geocoder = BanGeocoder("http://127.0.0.1:9", timeout=0.5)
    assert geocoder.geocode(query()) is None and geocoder.stats["errors"] == 1


def test_from_settings(settings):
    settings.MEDNUM_GEOCODER_URL = ""
    assert geocoder_from_settings() is None
    settings.MEDNUM_GEOCODER_URL = "https://data.geopf.fr/geocodage/"
    geocoder = geocoder_from_settings()
    assert isinstance(geocoder, BanGeocoder) and geocoder.base_url == "https://data.geopf.fr/geocodage"


@pytest.mark.django_db
def test_import_goes_on_when_the_geocoder_fails(ban, tmp_path):
    from mednum.imports.engine import import_lieux
    from mednum.lieux.models import Lieu, PositionPrecision
    from tests.factories import CommuneFactory
    from tests.imports.conftest import row, write_csv

    CommuneFactory(code="51454", nom="Reims", codes_postaux=["51100"], latitude=49.2628, longitude=4.0347)
    rows = [row(1, adresse="1 rue de Vesle"), row(2, adresse="2 rue lent"), row(3, adresse="3 rue erreur"),
            row(4, adresse="4 rue casse"), row(5, adresse="5 rue douteux")]
    for r in rows:
        r["latitude"] = r["longitude"] = ""
    report = import_lieux(write_csv(tmp_path / "l.csv", rows), "s", geocoder=BanGeocoder(ban, timeout=0.5))
    assert report.exit_status == 0 and report.created == 5
    assert (report.geocoded, report.placed_at_commune) == (1, 4)
    lieux = {lieu.id_standard: lieu for lieu in Lieu.objects.all()}
    assert lieux["lieu-1"].position_precision == PositionPrecision.ADRESSE
    assert (lieux["lieu-1"].latitude, lieux["lieu-1"].longitude) == (49.2501, 4.0302)
    for key in ("lieu-2", "lieu-3", "lieu-4", "lieu-5"):
        assert lieux[key].position_precision == PositionPrecision.COMMUNE
        assert (lieux[key].latitude, lieux[key].longitude) == (49.2628, 4.0347)


# --- An address typed in the search box ------------------------------------------------------------

from django.core.cache import cache  # noqa: E402

from mednum.geo.geocoder import geocode_search_text, looks_like_address  # noqa: E402
from tests.fake_ban import FakeBanServer, ban_feature  # noqa: E402


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12 rue de la Mairie 34200 Sète", True),
        ("3 bis avenue Foch, Lyon", True),
        ("place du Marché Lyon", True),
        ("Sète", False),
        ("34200", False),
        ("75001 Paris", False),
        ("Saint-Denis", False),
        ("L'Isle-sur-la-Sorgue", False),
    ],
)
def test_looks_like_address(text, expected):
    assert looks_like_address(text) is expected


def test_search_text_is_geocoded_once_then_cached(settings):
    cache.clear()
    answer = ban_feature(43.4, 3.69, label="12 Rue de la Mairie 34200 Sète", citycode="34301", postcode="34200")
    with FakeBanServer({"mairie": answer}) as ban:
        settings.MEDNUM_GEOCODER_URL = ban.url
        found = geocode_search_text("12 rue de la Mairie  34200 Sète")
        again = geocode_search_text("12 rue de la mairie 34200 sète")
    assert (found.latitude, found.longitude, found.citycode) == (43.4, 3.69, "34301")
    assert again == found
    assert len(ban.requests) == 1
    assert ban.requests[0]["postcode"] == "34200"


def test_search_text_when_the_service_fails_or_is_not_configured(settings):
    cache.clear()
    settings.MEDNUM_GEOCODER_URL = ""
    assert geocode_search_text("12 rue de la Mairie Sète") is None
    with FakeBanServer({"mairie": "500"}) as ban:
        settings.MEDNUM_GEOCODER_URL = ban.url
        assert geocode_search_text("12 rue de la Mairie Sète") is None
        assert geocode_search_text("12 rue de la Mairie Sète") is None
    assert len(ban.requests) == 2  # a failure is not kept: the service is asked again
