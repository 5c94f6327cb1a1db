"""Deduplication: scoring, candidate pairs, the run, reviewers' decisions, the admin review queue."""

import importlib.util
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from mednum.imports import engine
from mednum.lieux import dedup
from mednum.lieux.models import DedupDecision, DedupPair, Lieu, SourceRecord
from tests.factories import SuperUserFactory, make_lieu

ROOT = Path(__file__).resolve().parents[2]


def feats(pk=1, source="A", **values):
    base = {"nom": "Médiathèque Jean Moulin", "adresse": "12 rue de la République", "commune": "Pessac",
            "code_postal": "33600", "code_insee": "33318", "latitude": "44.8067", "longitude": "-0.6311",
            "pivot": "", "telephone": "", "courriels": ""}
    base.update(values)
    return dedup.features_from_values(base, pk=pk, sources={source})


class TestNormalisation:
    def test_name_key_splits_kind_and_proper_part(self):
        key = dedup.name_key("Médiathèque municipale Jean-Moulin")
        assert key.kinds == {"bib"}
        assert key.tokens == ("jean", "moulin")
        assert dedup.name_key("Maison de Services Au Public de Créon").kinds == {"france_services"}
        assert dedup.name_key("CCAS de Pessac").kinds == {"ccas"}

    @pytest.mark.parametrize("text,number,street", [
        ("12 bis rue de la République", "12b", "rue republique"),
        ("12B, R. de la République", "12b", "rue republique"),
        ("12 B avenue Jean Jaurès - 33600 Pessac", "12b", "avenue jean jaures"),
        ("Place du 8 mai 1945", "", "place 8 mai 1945"),
        ("3-5 bd Gambetta", "3", "boulevard gambetta"),
    ])
    def test_address_key(self, text, number, street):
        key = dedup.address_key(text, "Pessac")
        assert (key.number, key.street) == (number, street)

    def test_phone_key(self):
        assert dedup.phone_key("+33557657539") == dedup.phone_key("05 57 65 75 39") == "557657539"


class TestScore:
    def test_same_place_from_two_sources(self):
        a = feats(1, "Hinaura")
        b = feats(2, "Coop", nom="MEDIATHEQUE MUNICIPALE JEAN MOULIN", adresse="12, r. de la Republique",
                  latitude="44.8069", longitude="-0.6313")
        assert dedup.score_pair(a, b).total >= dedup.THRESHOLD_AUTO
        assert dedup.predict_same(a, b)

    def test_town_hall_and_library_in_one_building(self):
        a = feats(1, "A", nom="Mairie de Pessac", telephone="+33557000000", pivot="21330318800014")
        b = feats(2, "B", nom="Médiathèque de Pessac", telephone="+33557000000", pivot="21330318800014")
        score = dedup.score_pair(a, b)
        assert score.total < dedup.THRESHOLD_REVIEW
        assert score.details["type"] == "différent"

    def test_different_sirens_pull_down(self):
        a = feats(1, "A", pivot="12345678900011")
        b = feats(2, "B", pivot="98765432100011")
        assert dedup.score_pair(a, b).details["siret"] == "différent"
        assert dedup.score_pair(a, b).total < dedup.score_pair(a, feats(2, "B")).total

    def test_same_source_needs_a_higher_score(self):
        a, b = feats(1, "A"), feats(2, "A")
        assert dedup.thresholds_for(a, b, 0.8, 0.6) == pytest.approx((0.9, 0.7))

    def test_same_network_in_two_communes_is_not_a_candidate(self):
        a = feats(1, "A", nom="Espace France Services", commune="Pessac", code_insee="33318")
        b = feats(2, "B", nom="Espace France Services", commune="Talence", code_insee="33522",
                  latitude="44.8100", longitude="-0.5900")
        assert not dedup.is_candidate(a, b)

    def test_lieu_without_position_is_compared_within_its_commune(self):
        a = feats(1, "A")
        b = feats(2, "B", latitude="", longitude="", nom="Médiathèque J. Moulin")
        assert dedup.is_candidate(a, b)
        assert dedup.predict_same(a, b)


class TestCandidates:
    def test_grid_finds_close_pairs_only(self):
        items = [feats(1), feats(2, latitude="44.8080"), feats(3, latitude="44.8200", code_insee="33999",
                                                            commune="Ailleurs", code_postal="33999")]
        assert dedup.candidate_pairs(items) == {(0, 1)}

    def test_same_siret_or_phone_in_the_commune(self):
        far = {"latitude": "44.7900", "longitude": "-0.6500"}
        items = [feats(1, telephone="+33557000001"), feats(2, telephone="+33557000001", **far),
                 feats(3, pivot="12345678900011"), feats(4, pivot="12345678900011", **far)]
        pairs = dedup.candidate_pairs(items)
        assert (0, 1) in pairs and (2, 3) in pairs


@pytest.mark.django_db
class TestRun:
    def make_duplicates(self):
        a = make_lieu("Hinaura", "h1", nom="Médiathèque Jean Moulin", latitude="44.8067", longitude="-0.6311")
        b = make_lieu("Gironde", "g1", nom="Médiathèque municipale Jean-Moulin", adresse="12 r. de la République",
                      latitude="44.8069", longitude="-0.6312", date_maj="2024-06-01")
        mairie = make_lieu("Gironde", "g2", nom="Mairie de Montpellier", latitude="44.8068", longitude="-0.6310")
        return a, b, mairie

    def test_duplicates_across_sources_are_merged(self):
        a, b, mairie = self.make_duplicates()
        result = dedup.run_dedup()
        assert result.clusters == 1 and result.merged_lieux == 1
        a.refresh_from_db(), b.refresh_from_db(), mairie.refresh_from_db()
        assert b.fusionne_dans_id == a.pk
        assert a.source_records.count() == 2
        assert a.source == "Gironde, Hinaura"
        assert mairie.fusionne_dans_id is None  # same building, another lieu
        assert DedupPair.objects.filter(status=DedupPair.Status.FUSION_AUTO).count() == 1

    def test_dry_run_writes_nothing(self):
        self.make_duplicates()
        result = dedup.run_dedup(dry_run=True)
        assert result.clusters == 1
        assert not Lieu.objects.filter(fusionne_dans__isnull=False).exists()
        assert not DedupPair.objects.exists()

    def test_second_run_changes_nothing(self):
        self.make_duplicates()
        dedup.run_dedup()
        result = dedup.run_dedup()
        assert result.clusters == 0 and result.auto_pairs == 0

    def test_review_band_goes_to_the_queue(self):
        make_lieu("A", "a1", nom="Espace Alfred Sisley", adresse="19 rue Alfred Sisley")
        make_lieu("B", "b1", nom="EPN des quartiers Sud-Est (Espace Sisley)", adresse="19 rue Alfred Sisley",
                  latitude="43.6108")
        result = dedup.run_dedup()
        assert result.review_pairs == 1 and result.clusters == 0
        pair = DedupPair.objects.get()
        assert pair.status == DedupPair.Status.A_EXAMINER
        assert dedup.THRESHOLD_REVIEW <= pair.score < dedup.THRESHOLD_AUTO

    def test_thresholds_from_the_command(self, capsys):
        self.make_duplicates()
        call_command("dedup_lieux", "--dry-run")
        assert "(1 lieux fusionnés)" in capsys.readouterr().out
        # Thresholds low enough to merge the town hall too.
        call_command("dedup_lieux", "--dry-run", "--threshold-auto", "0.4", "--threshold-review", "0.3")
        assert "(2 lieux fusionnés)" in capsys.readouterr().out

    def test_reviewer_different_survives_reruns_and_reimports(self):
        a, b, _ = self.make_duplicates()
        dedup.run_dedup()
        pair = DedupPair.objects.get(status=DedupPair.Status.FUSION_AUTO)
        dedup.confirm_different(pair)
        a.refresh_from_db(), b.refresh_from_db()
        assert b.fusionne_dans_id is None and a.fusionne_dans_id is None
        assert DedupDecision.objects.get().decision == DedupDecision.Decision.DIFFERENTS
        dedup.run_dedup()
        b.refresh_from_db()
        assert b.fusionne_dans_id is None
        # A re-import that recreates the records (new rows, same source identities): still apart.
        for record in SourceRecord.objects.filter(source="Gironde", source_id="g1"):
            values = dict(record.normalised)
            lieu = record.lieu
            record.delete()
            SourceRecord.objects.create(source="Gironde", source_id="g1", lieu=lieu, raw=values,
                                        normalised=values, content_hash="x", date_maj=None,
                                        imported_at=record.imported_at, updated_at=record.updated_at)
        dedup.run_dedup()
        assert Lieu.objects.filter(fusionne_dans__isnull=True).count() == 3

    def test_reviewer_different_separates_records_merged_elsewhere(self):
        """A decision recorded while the records sit in one lieu: the next run separates them."""
        a, b, _ = self.make_duplicates()
        dedup.run_dedup()
        DedupDecision.record(("Hinaura", "h1"), ("Gironde", "g1"), DedupDecision.Decision.DIFFERENTS)
        result = dedup.run_dedup()
        assert result.separated == 1
        assert Lieu.objects.filter(fusionne_dans__isnull=True).count() == 3

    def test_reviewer_same_wins_over_a_low_score(self):
        x = make_lieu("A", "a1", nom="Le Spot", latitude="44.8067")
        y = make_lieu("B", "b1", nom="Cyber-base de la ville", adresse="1 place de la Mairie", latitude="44.8100")
        DedupDecision.record(("B", "b1"), ("A", "a1"), DedupDecision.Decision.MEME_LIEU)
        result = dedup.run_dedup()
        assert result.decisions_applied == 1
        y.refresh_from_db()
        assert y.fusionne_dans_id == x.pk
        assert dedup.run_dedup().clusters == 0

    def test_different_blocks_transitive_merges(self):
        """A ~ B and B ~ C score high, but a reviewer said A ≠ C: A and C never share a lieu."""
        make_lieu("A", "a1", nom="Médiathèque Jean Moulin")
        make_lieu("B", "b1", nom="Médiathèque Jean Moulin", latitude="44.8068")
        make_lieu("C", "c1", nom="Médiathèque Jean Moulin", latitude="44.8069")
        DedupDecision.record(("A", "a1"), ("C", "c1"), DedupDecision.Decision.DIFFERENTS)
        dedup.run_dedup()
        a = SourceRecord.objects.get(source="A").lieu_id
        c = SourceRecord.objects.get(source="C").lieu_id
        assert a != c


@pytest.mark.django_db
class TestAdminReview:
    @pytest.fixture
    def admin_client(self, client):
        client.force_login(SuperUserFactory())
        return client

    def pending_pair(self):
        make_lieu("A", "a1", nom="Espace Alfred Sisley", adresse="19 rue Alfred Sisley")
        make_lieu("B", "b1", nom="EPN des quartiers Sud-Est (Espace Sisley)", adresse="19 rue Alfred Sisley",
                  latitude="43.6108")
        dedup.run_dedup()
        return DedupPair.objects.get()

    def test_queue_lists_pairs(self, admin_client):
        pair = self.pending_pair()
        url = reverse("admin:lieux_deduppair_changelist")
        response = admin_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Espace Alfred Sisley" in html and "Confirmer : même lieu" in html
        assert admin_client.get(reverse("admin:lieux_deduppair_change", args=[pair.pk])).status_code == 200

    def test_confirm_same(self, admin_client):
        pair = self.pending_pair()
        response = admin_client.post(reverse("admin:lieux_deduppair_changelist"),
                                     {"action": "action_meme_lieu", "_selected_action": [pair.pk]}, follow=True)
        assert response.status_code == 200
        assert Lieu.objects.filter(fusionne_dans__isnull=True).count() == 1
        decision = DedupDecision.objects.get()
        assert decision.decision == DedupDecision.Decision.MEME_LIEU and decision.user is not None
        pair.refresh_from_db()
        assert pair.status == DedupPair.Status.MEME_LIEU
        dedup.run_dedup()
        assert Lieu.objects.filter(fusionne_dans__isnull=True).count() == 1

    def test_confirm_different(self, admin_client):
        pair = self.pending_pair()
        admin_client.post(reverse("admin:lieux_deduppair_changelist"),
                          {"action": "action_lieux_differents", "_selected_action": [pair.pk]})
        assert DedupDecision.objects.get().decision == DedupDecision.Decision.DIFFERENTS
        dedup.run_dedup()
        assert Lieu.objects.filter(fusionne_dans__isnull=True).count() == 2
        assert not DedupPair.objects.filter(status=DedupPair.Status.A_EXAMINER).exists()

    def test_lieu_and_record_admin_pages(self, admin_client):
        lieu = make_lieu("A", "a1")
        assert admin_client.get(reverse("admin:lieux_lieu_changelist") + "?q=Moulin").status_code == 200
        response = admin_client.get(reverse("admin:lieux_lieu_change", args=[lieu.pk]))
        assert response.status_code == 200 and "sources de ce lieu" in response.content.decode().lower()
        record = lieu.source_records.get()
        assert admin_client.get(reverse("admin:lieux_sourcerecord_change", args=[record.pk])).status_code == 200


def _quality_module():
    spec = importlib.util.spec_from_file_location("dedup_quality", ROOT / "bench" / "dedup_quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestQuality:
    """The labelled set (tests/lieux/fixtures/dedup_pairs.csv): fails if the scoring regresses."""

    def test_precision_and_recall(self):
        quality = _quality_module()
        rows = quality.read_pairs()
        assert len(rows) >= 400
        result = quality.evaluate(rows)
        assert result["same"] >= 150 and result["different"] >= 150
        assert result["precision"] >= 0.95, result["errors"][:5]
        assert result["recall"] >= 0.90, result["errors"][:5]

    def test_the_set_is_regenerated_identically(self):
        quality = _quality_module()
        assert quality.build_pairs() == quality.read_pairs()


@pytest.mark.django_db
class TestWithImportEngine:
    """Decisions survive real re-imports through the import engine (changed and unchanged files)."""

    def write(self, path, rows):
        import csv

        from mednum.standard import schema
        from tests.factories import standard_values

        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=schema.field_names())
            writer.writeheader()
            for row in rows:
                values = standard_values(**row)
                values["pivot"] = values["pivot"] or "00000000000000"
                writer.writerow(values)

    def test_decisions_survive_reimports(self, tmp_path):
        a_file, b_file = tmp_path / "a.csv", tmp_path / "b.csv"
        self.write(a_file, [{"id": "a1", "nom": "Médiathèque Jean Moulin", "source": "Réseau A"}])
        self.write(b_file, [{"id": "b1", "nom": "Médiathèque municipale Jean-Moulin", "source": "Réseau B",
                             "latitude": "43.6108", "date_maj": "2024-06-01"}])
        engine.import_lieux(a_file, "A")
        engine.import_lieux(b_file, "B")
        assert dedup.run_dedup().clusters == 1
        merged = SourceRecord.objects.get(source="A").lieu
        assert merged.source == "Réseau A, Réseau B"

        # A change in B's file updates the merged lieu through merge.refresh_lieu.
        self.write(b_file, [{"id": "b1", "nom": "Médiathèque municipale Jean-Moulin", "source": "Réseau B",
                             "latitude": "43.6108", "date_maj": "2024-07-01", "horaires": "Tu-Sa 10:00-18:00"}])
        engine.import_lieux(b_file, "B")
        merged.refresh_from_db()
        assert merged.horaires == "Tu-Sa 10:00-18:00" and merged.date_maj.isoformat() == "2024-07-01"

        pair = DedupPair.objects.get(status=DedupPair.Status.FUSION_AUTO)
        dedup.confirm_different(pair)
        for _ in range(2):
            engine.import_lieux(a_file, "A")
            engine.import_lieux(b_file, "B")
            dedup.run_dedup()
            assert SourceRecord.objects.get(source="A").lieu_id != SourceRecord.objects.get(source="B").lieu_id
            self.write(b_file, [{"id": "b1", "nom": "Médiathèque municipale Jean Moulin", "source": "Réseau B",
                                 "latitude": "43.6108", "date_maj": "2024-08-01"}])

    def test_same_decision_survives_reimports(self, tmp_path):
        a_file, b_file = tmp_path / "a.csv", tmp_path / "b.csv"
        self.write(a_file, [{"id": "a1", "nom": "Le Spot", "source": "Réseau A"}])
        self.write(b_file, [{"id": "b1", "nom": "Cyber-base de la ville", "adresse": "1 place de la Mairie",
                             "latitude": "43.6150", "source": "Réseau B"}])
        engine.import_lieux(a_file, "A")
        engine.import_lieux(b_file, "B")
        assert dedup.run_dedup().clusters == 0  # nothing alike
        DedupDecision.record(("A", "a1"), ("B", "b1"), DedupDecision.Decision.MEME_LIEU)
        assert dedup.run_dedup().clusters == 1
        self.write(b_file, [{"id": "b1", "nom": "Cyber-base de la ville", "adresse": "1 place de la Mairie",
                             "latitude": "43.6150", "source": "Réseau B", "date_maj": "2024-09-01"}])
        engine.import_lieux(a_file, "A")
        engine.import_lieux(b_file, "B")
        dedup.run_dedup()
        assert SourceRecord.objects.get(source="A").lieu_id == SourceRecord.objects.get(source="B").lieu_id
        assert Lieu.objects.filter(fusionne_dans__isnull=True).count() == 1


class TestCrowds:
    """Lieux piled up at one point, or without a position, in one commune: no evidence to pair them all."""

    def test_a_point_shared_by_many_lieux_does_not_pair_them_all(self):
        """500 lieux at one point (a source placing them at the commune's centre) made 124,750 candidate
        pairs and as many review items."""
        crowd = [dedup.features(i, f"Médiathèque numéro {i}", "1 place de la Mairie", "Reims", "51100", "51454",
                                "49.2535", "4.0276", "", "", "") for i in range(200)]
        assert len(dedup.candidate_pairs(crowd)) == 0
        # Still paired: a shared SIRET, and a lieu placed elsewhere nearby.
        crowd[0] = dedup.features(0, "Médiathèque numéro 0", "", "Reims", "51100", "51454", "49.2535", "4.0276",
                                  "21510454300017", "", "")
        crowd[1] = dedup.features(1, "Médiathèque numéro 1", "", "Reims", "51100", "51454", "49.2535", "4.0276",
                                  "21510454300017", "", "")
        crowd.append(dedup.features(200, "Médiathèque numéro 7", "", "Reims", "51100", "51454", "49.2536", "4.0277",
                                    "", "", ""))
        pairs = dedup.candidate_pairs(crowd)
        assert (0, 1) in pairs and (7, 200) in pairs
        assert len(pairs) < 300

    def test_a_few_lieux_at_one_point_are_still_compared(self):
        few = [dedup.features(i, name, "1 place de la Mairie", "Reims", "51100", "51454", "49.2535", "4.0276",
                              "", "", "") for i, name in enumerate(["Médiathèque Jean Moulin", "Médiathèque J. Moulin"])]
        assert dedup.candidate_pairs(few) == {(0, 1)}

    def test_long_values_are_compared_on_their_start(self):
        """SequenceMatcher is quadratic in the length (two 500-character names: ~10 ms a pair, see
        bench/bench_dedup.py for speed): names and addresses are compared on their first RATIO_CHARS."""
        head = "Espace public numérique de la communauté de communes " * 4
        assert len(head) > dedup.RATIO_CHARS
        assert dedup._ratio(head + "x" * 300, head + "y" * 300) == 1.0
        assert dedup._ratio("Médiathèque Jean Moulin", "Médiathèque J. Moulin") < 1.0
