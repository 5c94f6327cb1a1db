"""Helpers to create lieux quickly in the geo and lieux search tests (no factory: plain rows, masks set)."""

from __future__ import annotations

import itertools
import math
import random
from datetime import date

import pytest

from mednum.geo.distance import EARTH_RADIUS_KM, haversine_km
from mednum.lieux.models import Lieu
from mednum.standard import schema

# The suite runs on SQLite and on PostgreSQL (CI runs both): a test of one engine's own index or
# driver feature runs there and is skipped on the other.
def sqlite_only_for(feature: str):
    return pytest.mark.skipif("connection.vendor != 'sqlite'", reason=f"SQLite only ({feature})")


def postgres_only_for(feature: str):
    return pytest.mark.skipif("connection.vendor != 'postgresql'", reason=f"PostgreSQL only ({feature})")


sqlite_only = sqlite_only_for("R*Tree")
postgres_only = postgres_only_for("GiST, prepared statements")

_counter = itertools.count(1)


def lieu(lat, lon, *, save=True, **fields) -> Lieu:
    """A Lieu at (lat, lon); multi-valued fields may be given as lists."""
    n = next(_counter)
    data = {
        "id_standard": f"test-{n}",
        "nom": f"Lieu {n}",
        "commune_nom": "Lyon",
        "code_postal": "69001",
        "code_insee": "69381",
        "adresse": f"{n} rue de la République",
        "date_maj": date(2026, 1, 15),
        "slug": f"lieu-{n}",
        "latitude": lat,
        "longitude": lon,
    }
    for key, value in fields.items():
        data[key] = schema.join(value) if isinstance(value, (list, tuple)) else value
    obj = Lieu(**data)
    obj.set_masks()
    if save:
        obj.save()
    return obj


def bulk(lieux: list[Lieu]) -> list[Lieu]:
    Lieu.objects.bulk_create(lieux, batch_size=500)
    return list(Lieu.objects.order_by("id"))


def random_lieux(count, centre=(45.76, 4.84), spread_km=30.0, seed=1, **fixed) -> list[Lieu]:
    """`count` unsaved lieux scattered around `centre` (denser near it), with random services/frais."""
    rng = random.Random(seed)
    services = schema.enumerations()["services"]
    frais = schema.enumerations()["frais_a_charge"]
    acces = schema.enumerations()["modalites_acces"]
    out = []
    for _ in range(count):
        bearing = rng.uniform(0, 2 * math.pi)
        distance = spread_km * rng.random() ** 1.5
        lat, lon = destination(centre[0], centre[1], bearing, distance)
        fields = {
            "services": rng.sample(services, rng.randint(0, 3)),
            "frais_a_charge": rng.sample(frais, rng.randint(0, 1)),
            "modalites_acces": rng.sample(acces, rng.randint(0, 2)),
        }
        fields.update(fixed)
        out.append(lieu(round(lat, 6), round(lon, 6), save=False, **fields))
    return out


def destination(lat, lon, bearing_rad, distance_km):
    """Point reached from (lat, lon) going `distance_km` along `bearing_rad` on the sphere."""
    delta = distance_km / EARTH_RADIUS_KM
    phi1, lmb1 = math.radians(lat), math.radians(lon)
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(bearing_rad))
    lmb2 = lmb1 + math.atan2(
        math.sin(bearing_rad) * math.sin(delta) * math.cos(phi1), math.cos(delta) - math.sin(phi1) * math.sin(phi2)
    )
    lon2 = (math.degrees(lmb2) + 540.0) % 360.0 - 180.0
    return math.degrees(phi2), lon2


def brute_force(lat, lon, *, limit, radius_km, predicate=None):
    """Reference answer computed the slow way (every row), for comparison in tests only."""
    rows = []
    for obj in Lieu.objects.filter(fusionne_dans__isnull=True, latitude__isnull=False, longitude__isnull=False):
        if predicate is not None and not predicate(obj):
            continue
        d = haversine_km(lat, lon, obj.latitude, obj.longitude)
        if d <= radius_km:
            rows.append((obj.id, d))
    rows.sort(key=lambda r: (r[1], r[0]))
    return rows[:limit]
