"""Territories used by the accounts tests: two régions, three départements, two EPCI, four communes."""

from dataclasses import dataclass

import pytest

from tests.factories import CommuneFactory, DepartementFactory, EpciFactory, RegionFactory


@dataclass
class Chose:
    """Stand-in for any object that lies somewhere (a lieu, an action, a candidature…)."""

    commune: str | None = None
    departement: str | None = None
    region: str | None = None
    epci: str | None = None

    def territoire_codes(self):
        return {"commune": self.commune, "departement": self.departement, "region": self.region, "epci": self.epci}


@dataclass
class Territoires:
    occitanie: object
    ara: object
    herault: object
    gard: object
    rhone: object
    montpellier_metropole: object
    sete_agglo: object
    montpellier: object
    sete: object
    nimes: object
    lyon: object

    @staticmethod
    def chose_a(commune) -> Chose:
        """A stand-in object located in `commune`."""
        return Chose(
            commune=commune.code, departement=commune.departement_id, region=commune.region_id, epci=commune.epci_id
        )


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def territoires(db):
    occitanie = RegionFactory(code="76", nom="Occitanie")
    ara = RegionFactory(code="84", nom="Auvergne-Rhône-Alpes")
    herault = DepartementFactory(code="34", nom="Hérault", region=occitanie)
    gard = DepartementFactory(code="30", nom="Gard", region=occitanie)
    rhone = DepartementFactory(code="69", nom="Rhône", region=ara)
    montpellier_metropole = EpciFactory(code="243400017", nom="Montpellier Méditerranée Métropole", type="METRO")
    sete_agglo = EpciFactory(code="200066355", nom="Sète Agglopôle Méditerranée", type="CA")
    return Territoires(
        occitanie=occitanie,
        ara=ara,
        herault=herault,
        gard=gard,
        rhone=rhone,
        montpellier_metropole=montpellier_metropole,
        sete_agglo=sete_agglo,
        montpellier=CommuneFactory(code="34172", nom="Montpellier", departement=herault, epci=montpellier_metropole),
        sete=CommuneFactory(code="34301", nom="Sète", departement=herault, epci=sete_agglo),
        nimes=CommuneFactory(code="30189", nom="Nîmes", departement=gard),
        lyon=CommuneFactory(code="69123", nom="Lyon", departement=rhone),
    )
