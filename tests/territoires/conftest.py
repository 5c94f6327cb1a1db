import pytest

from mednum.territoires import search
from tests.factories import CommuneFactory, DepartementFactory, EpciFactory, RegionFactory


@pytest.fixture(autouse=True)
def _fresh_communes_index():
    """Each test sees the communes of its own database state."""
    search.invalidate_index()
    yield
    search.invalidate_index()


@pytest.fixture
def communes(db):
    """A few real communes (codes, names, postal codes; populations rounded), keyed by INSEE code."""
    occitanie = RegionFactory(code="76", nom="Occitanie")
    aura = RegionFactory(code="84", nom="Auvergne-Rhône-Alpes")
    normandie = RegionFactory(code="28", nom="Normandie")
    paca = RegionFactory(code="93", nom="Provence-Alpes-Côte d'Azur")
    nouvelle_aquitaine = RegionFactory(code="75", nom="Nouvelle-Aquitaine")
    corse = RegionFactory(code="94", nom="Corse")
    ile_de_france = RegionFactory(code="11", nom="Île-de-France")
    loire = DepartementFactory(code="42", nom="Loire", region=aura)
    herault = DepartementFactory(code="34", nom="Hérault", region=occitanie)
    aude = DepartementFactory(code="11", nom="Aude", region=occitanie)
    departements = {
        "76": DepartementFactory(code="76", nom="Seine-Maritime", region=normandie),
        "06": DepartementFactory(code="06", nom="Alpes-Maritimes", region=paca),
        "84": DepartementFactory(code="84", nom="Vaucluse", region=paca),
        "24": DepartementFactory(code="24", nom="Dordogne", region=nouvelle_aquitaine),
        "31": DepartementFactory(code="31", nom="Haute-Garonne", region=occitanie),
        "12": DepartementFactory(code="12", nom="Aveyron", region=occitanie),
        "2A": DepartementFactory(code="2A", nom="Corse-du-Sud", region=corse),
        "93": DepartementFactory(code="93", nom="Seine-Saint-Denis", region=ile_de_france),
    }
    metropole = EpciFactory(code="244200770", nom="Saint-Étienne Métropole", type="METRO")
    rows = [
        # code, nom, codes postaux, population, département, EPCI, (latitude, longitude)
        ("42218", "Saint-Étienne", ["42000", "42100"], 173000, loire, metropole, (45.4339, 4.3903)),
        ("42279", "Saint-Just-Saint-Rambert", ["42170"], 15500, loire, None, (45.4997, 4.2411)),
        ("76575", "Saint-Étienne-du-Rouvray", ["76800"], 28000, departements["76"], None, (49.3786, 1.1050)),
        ("06120", "Saint-Étienne-de-Tinée", ["06660"], 1400, departements["06"], None, (44.2564, 6.9244)),
        ("84054", "L'Isle-sur-la-Sorgue", ["84800"], 19500, departements["84"], None, (43.9194, 5.0514)),
        ("24243", "Lisle", ["24350"], 900, departements["24"], None, (45.2842, 0.5500)),
        ("31113", "Castanet-Tolosan", ["31320"], 14000, departements["31"], None, (43.5161, 1.4989)),
        ("12061", "Castanet", ["12240"], 600, departements["12"], None, (44.2825, 2.2306)),
        ("34059", "Castanet-le-Haut", ["34610"], 200, herault, None, (43.6667, 2.9667)),
        ("34301", "Sète", ["34200"], 44000, herault, None, (43.4028, 3.6928)),
        ("11397", "Trèbes", ["11800"], 5600, aude, None, (43.2108, 2.4422)),
        ("11026", "Barbaira", ["11800"], 700, aude, None, (43.1856, 2.5153)),
        ("11220", "Marseillette", ["11800"], 700, aude, None, (43.2028, 2.5433)),
        ("11147", "Floure", ["11800"], 400, aude, None, (None, None)),
        ("11069", "Carcassonne", ["11000"], 46000, aude, None, (43.2130, 2.3491)),
        ("93072", "Stains", ["93240"], 39000, departements["93"], None, (48.9500, 2.3833)),
        ("2A004", "Ajaccio", ["20000", "20090"], 71000, departements["2A"], None, (41.9267, 8.7369)),
    ]
    created = {}
    for code, nom, codes_postaux, population, departement, epci, (latitude, longitude) in rows:
        created[code] = CommuneFactory(
            code=code,
            nom=nom,
            codes_postaux=codes_postaux,
            population=population,
            departement=departement,
            epci=epci,
            latitude=latitude,
            longitude=longitude,
        )
    return created
