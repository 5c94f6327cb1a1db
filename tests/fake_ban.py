"""A local stand-in for the BAN / Géoplateforme search API (`GET /search/?q=…`), for tests only.

`FakeBanServer(answers)` serves, for each request, the first answer whose key is found in the `q`
parameter (case-insensitive): a GeoJSON feature dict, the string "500" (server error), or None
(no feature). Requests are recorded in `.requests`. Loopback only.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def ban_feature(lat, lon, *, label, citycode, postcode, score=0.92):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"label": label, "score": score, "citycode": citycode, "postcode": postcode},
    }


class FakeBanServer:
    def __init__(self, answers: dict):
        self.answers = answers
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                params = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                outer.requests.append(params)
                q = params.get("q", "").casefold()
                answer = next((a for key, a in outer.answers.items() if key.casefold() in q), None)
                if answer == "500":
                    body, status = b"Internal Server Error", 500
                else:
                    body = json.dumps({"type": "FeatureCollection", "features": [answer] if answer else []}).encode()
                    status = 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
