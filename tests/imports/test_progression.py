"""The progress of a background import: the file its callback keeps, and what the page reads from it."""

from __future__ import annotations

import json

from mednum.imports.progression import IMMOBILE_APRES_S, Progression, ProgressFile, lire


class Horloge:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_the_latest_state_is_kept_at_most_once_a_second_and_at_each_stage_end(tmp_path):
    path = tmp_path / "p.json"
    horloge = Horloge()
    progress = ProgressFile(path, interval=1.0, clock=horloge)
    progress("lecture", 1000, None, 0.1)
    assert lire(path) == Progression("lecture", 1000, None, horloge.t)
    horloge.t += 0.5
    progress("lecture", 2000, None, 0.6)  # too soon: not written
    assert lire(path).lignes == 1000
    progress("lecture", 3000, 3000, 0.7)  # end of the stage: always written
    assert lire(path) == Progression("lecture", 3000, 3000, horloge.t)
    progress("import", 1000, 3000, 0.8)  # a new stage: written at once
    assert lire(path).etape == "import"
    horloge.t += 1.0
    progress("import", 2000, 3000, 1.8)
    assert lire(path).lignes == 2000
    assert not path.with_name("p.json.tmp").exists()
    progress.remove()
    assert not path.exists() and lire(path) is None


def test_rows_not_yet_counted_are_estimated_from_the_lines_of_the_file(tmp_path):
    path = tmp_path / "p.json"
    fichier = tmp_path / "lieux.csv"
    fichier.write_bytes(b"id,nom\n" + b"".join(b"%d,Lieu\n" % n for n in range(1, 201)) + b"201,Sans fin de ligne")
    progress = ProgressFile(path, fichier=fichier, interval=0)
    progress("lecture", 150, None, 0.1)  # the first reading counts rows itself: no estimate
    assert lire(path) == Progression("lecture", 150, None, lire(path).maj)
    progress("import", 100, None, 0.5)
    state = lire(path)
    assert (state.total, state.estime, state.pourcentage) == (201, True, 49)
    assert state.texte == "Import des lignes : 100 lignes sur environ 201 (49 %)"
    progress("import", 250, None, 0.9)  # values over several lines: more rows than lines, never 100 % before the end
    assert lire(path).pourcentage == 99
    progress("validation", 10, 40, 0.9)  # known: kept as it is
    assert (lire(path).total, lire(path).estime) == (40, False)
    fichier.unlink()  # deleted by then: the count made first stays
    progress("import", 120, None, 1.0)
    assert lire(path).total == 201
    empty = ProgressFile(path, fichier=tmp_path / "absent.csv", interval=0)
    empty("import", 5, None, 0.1)
    assert lire(path).total is None and lire(path).texte == "Import des lignes : 5 lignes lues"


def test_what_the_page_says():
    assert Progression("import", 34_000, 100_000, 0).texte == "Import des lignes : 34\u202f000 lignes sur 100\u202f000 (34 %)"
    assert Progression("lecture", 12_500, None, 0).texte == "Lecture du fichier : 12\u202f500 lignes lues"
    assert Progression("import", 5, 0, 0).pourcentage is None
    assert Progression("import", 11, 10, 0).pourcentage == 100
    state = Progression("import", 1, 10, maj=5_000.0)
    assert not state.immobile(5_000.0 + IMMOBILE_APRES_S) and state.immobile(5_000.0 + IMMOBILE_APRES_S + 1)


def test_a_missing_or_foreign_file_is_no_progress(tmp_path):
    path = tmp_path / "p.json"
    assert lire(path) is None
    for content in ("", "{", "[]", json.dumps({"etape": "import"}), json.dumps(
            {"etape": "import", "lignes": "beaucoup", "total": None, "maj": 1}), json.dumps(
            {"etape": "import", "lignes": -1, "total": None, "maj": 1})):
        path.write_text(content)
        assert lire(path) is None, content


def test_a_file_that_cannot_be_written_does_not_stop_the_import(tmp_path):
    progress = ProgressFile(tmp_path / "absent" / "p.json")
    progress("import", 1000, 2000, 1.0)  # no folder: nothing written, no error
    assert lire(tmp_path / "absent" / "p.json") is None
