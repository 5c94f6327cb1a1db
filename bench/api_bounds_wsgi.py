"""The WSGI application of `bench_api_throughput.py --bound`: mednum's own, with one part of the lieux
search made free, to measure how far the throughput could go if that part cost nothing.

MEDNUM_BENCH_BOUND (read when a gunicorn worker imports this module):
* `nearest` — the nearest-lieux step of the search (`mednum.geo.nearest.nearest`, as called by
  `mednum.lieux.search`) answers the benchmark's 1,000 searches from memory, computed once when the
  worker starts. The throughput is an upper bound for any spatial index (R*Tree, GiST or in memory):
  the request still reads its parameters, builds its JSON and goes through Django.
* `search` — the whole JSON body of each of those searches comes from memory: an upper bound for the
  request with any search whatsoever (what is left is reading the parameters, Django and gunicorn).
Any other search (none in the benchmark) is computed as usual, so answers stay right.

Measurement only: the site never loads this module.
"""

from __future__ import annotations

import os

from django.http import QueryDict

from mednum.wsgi import application  # noqa: F401 - what gunicorn serves (sets Django up)
from mednum.lieux import search

import bench_api_throughput

BOUND = os.environ.get("MEDNUM_BENCH_BOUND", "")


def _memoised(function, key):
    answers: dict = {}

    def memoised(*args, **kwargs):
        k = key(*args, **kwargs)
        answer = answers.get(k)
        if answer is None:
            answer = answers[k] = function(*args, **kwargs)
        return answer

    return memoised


def _nearest_key(lat, lon, **kw):
    return (lat, lon, kw.get("limit"), kw.get("radius_km"), kw.get("where_sql"), tuple(kw.get("where_params") or ()),
            tuple(kw.get("columns") or ()), kw.get("accept") is None)


def _search_key(params):
    return (params.latitude, params.longitude, params.commune, params.rayon_km, params.page, params.taille,
            params.ouvert_maintenant, params.ouvert_week_end,
            tuple(sorted((name, tuple(values)) for name, values in params.filtres.items())))


if BOUND == "nearest":
    search.nearest = _memoised(search.nearest, _nearest_key)
elif BOUND == "search":
    search.search_page_json = _memoised(search.search_page_json, _search_key)
elif BOUND:
    raise SystemExit(f"MEDNUM_BENCH_BOUND inconnu : {BOUND!r} (nearest ou search)")

if BOUND:
    for path in bench_api_throughput.lieux_paths():
        search.search_page_json(search.parse_params(QueryDict(path.partition("?")[2])))
