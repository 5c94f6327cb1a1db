"""Merging source records into one lieu: field rules, merge_cluster, separate."""

import datetime as dt

import pytest

from mednum.lieux import merge
from mednum.lieux.models import Lieu, PositionPrecision, SourceRecord
from tests.factories import SourceRecordFactory, make_lieu, standard_values

pytestmark = pytest.mark.django_db


def record(record_source, source_id, **values):
    """An unsaved record, for the pure merge rules."""
    source = record_source
    normalised = standard_values(id=source_id, **{"source": source, **values})
    return SourceRecord(
        source=source, source_id=source_id, normalised=normalised, raw={},
        date_maj=dt.date.fromisoformat(normalised["date_maj"]) if normalised["date_maj"] else None,
    )


class TestMergedValues:
    def test_newest_record_wins_field_by_field(self):
        old = record("A", "1", nom="Médiathèque", horaires="Mo 09:00-12:00", date_maj="2022-01-01",
                     presentation_resume="Ancienne présentation")
        new = record("B", "2", nom="Médiathèque municipale", horaires="", date_maj="2024-05-01",
                     presentation_resume="")
        values = merge.merged_values([old, new])
        assert values["nom"] == "Médiathèque municipale"
        assert values["horaires"] == "Mo 09:00-12:00"  # the newest has none: the older one's
        assert values["presentation_resume"] == "Ancienne présentation"
        assert values["date_maj"] == "2024-05-01"

    def test_ties_are_broken_by_source_then_id(self):
        a = record("B", "9", nom="Nom B", date_maj="2024-01-01")
        b = record("A", "5", nom="Nom A", date_maj="2024-01-01")
        assert merge.merged_values([a, b])["nom"] == "Nom A"
        assert merge.merged_values([b, a])["nom"] == "Nom A"

    def test_lists_are_united_in_enumeration_order(self):
        a = record("A", "1", services="Utilisation sécurisée du numérique", date_maj="2024-01-01")
        b = record("B", "2", services="Aide aux démarches administratives|Utilisation sécurisée du numérique",
                   date_maj="2023-01-01")
        assert merge.merged_values([a, b])["services"] == (
            "Aide aux démarches administratives|Utilisation sécurisée du numérique"
        )

    def test_free_lists_keep_first_seen_order_without_duplicates(self):
        a = record("A", "1", courriels="b@ex.fr|a@ex.fr", typologie="BIB", date_maj="2024-01-01")
        b = record("B", "2", courriels="A@ex.fr|c@ex.fr", typologie="MUNI|BIB", date_maj="2023-01-01")
        values = merge.merged_values([a, b])
        assert values["courriels"] == "b@ex.fr|a@ex.fr|c@ex.fr"
        assert values["typologie"] == "BIB|MUNI"

    def test_real_pivot_preferred_over_missing_one(self):
        new = record("A", "1", pivot="", date_maj="2024-01-01")
        old = record("B", "2", pivot="21340172200014", date_maj="2020-01-01")
        unknown = record("C", "3", pivot="00000000000000", date_maj="2025-01-01")
        assert merge.merged_values([new, old, unknown])["pivot"] == "21340172200014"
        assert merge.merged_values([new, unknown])["pivot"] == ""

    def test_every_source_is_listed(self):
        a = record("Hinaura", "1", source="Hinaura")
        b = record("Gironde", "2", source="")  # no source column: the import's source name
        c = record("Autre", "3", source="hinaura", date_maj="2020-01-01")  # same source, older spelling
        assert merge.merged_values([a, b, c])["source"] == "Gironde, Hinaura"

    def test_position_comes_from_one_record(self):
        new = record("A", "1", latitude="45.1", longitude="", date_maj="2024-01-01")
        old = record("B", "2", latitude="44.5", longitude="4.2", date_maj="2020-01-01")
        values = merge.merged_values([new, old])
        assert (values["latitude"], values["longitude"]) == ("44.5", "4.2")


class TestMergeCluster:
    def test_records_move_to_the_survivor_and_others_redirect(self):
        a = make_lieu("Hinaura", "h1", nom="Médiathèque de Lyon", date_maj="2022-01-01")
        b = make_lieu("Gironde", "g1", nom="Médiathèque municipale de Lyon", date_maj="2024-01-01",
                      pivot="21690123100011")
        survivor = merge.merge_cluster([b, a])
        assert survivor.pk == a.pk  # same number of records: the oldest lieu survives
        assert survivor.id_standard == "h1"
        assert set(survivor.source_records.values_list("source", flat=True)) == {"Hinaura", "Gironde"}
        assert survivor.nom == "Médiathèque municipale de Lyon"
        assert survivor.pivot == "21690123100011"
        assert survivor.source == "Gironde, Hinaura"
        b.refresh_from_db()
        assert b.fusionne_dans_id == a.pk
        assert Lieu.objects.count() == 2  # nothing deleted

    def test_survivor_is_the_lieu_with_most_records(self):
        small = make_lieu("A", "a1")
        big = make_lieu("B", "b1")
        SourceRecordFactory(source="C", source_id="c1", lieu=big)
        survivor = merge.merge_cluster([small, big])
        assert survivor.pk == big.pk
        assert survivor.source_records.count() == 3

    def test_redirect_chains_are_flattened(self):
        a, b, c = make_lieu("A", "1"), make_lieu("B", "2"), make_lieu("C", "3")
        merge.merge_cluster([a, b])
        survivor = merge.merge_cluster([c, Lieu.objects.get(pk=b.pk)])
        assert survivor.pk == a.pk
        assert set(Lieu.objects.filter(fusionne_dans__isnull=False).values_list("fusionne_dans", flat=True)) == {a.pk}

    def test_refresh_saves_only_when_something_changed(self):
        lieu = make_lieu("A", "1")
        assert merge.refresh_lieu(lieu) is False

    def test_masks_and_commune_follow_the_merge(self):
        from tests.factories import CommuneFactory

        CommuneFactory(code="34172", nom="Montpellier", codes_postaux=["34000"])
        a = make_lieu("A", "1", services="Aide aux démarches administratives")
        b = make_lieu("B", "2", services="Loisirs et créations numériques")
        survivor = merge.merge_cluster([a, b])
        assert survivor.commune_id == "34172"
        from mednum.standard import schema

        assert survivor.services_mask == schema.mask_of(
            "services", ["Aide aux démarches administratives", "Loisirs et créations numériques"]
        )

    def test_geocoded_position_is_kept_when_no_record_gives_one(self):
        a = make_lieu("A", "1", latitude="", longitude="")
        Lieu.objects.filter(pk=a.pk).update(latitude=43.6, longitude=3.9, position_precision=PositionPrecision.ADRESSE)
        a.refresh_from_db()
        merge.refresh_lieu(a)
        a.refresh_from_db()
        assert (a.latitude, a.longitude, a.position_precision) == (43.6, 3.9, PositionPrecision.ADRESSE)


class TestSeparate:
    def test_separate_revives_the_former_lieu(self):
        a = make_lieu("A", "a1", nom="Mairie de Lyon")
        b = make_lieu("B", "b1", nom="Médiathèque de Lyon")
        survivor = merge.merge_cluster([a, b])
        record_b = SourceRecord.objects.get(source="B")
        lieu_b = merge.separate(record_b)
        assert lieu_b.pk == b.pk
        assert lieu_b.fusionne_dans_id is None
        assert lieu_b.nom == "Médiathèque de Lyon"
        survivor.refresh_from_db()
        assert survivor.nom == "Mairie de Lyon"
        assert list(survivor.source_records.values_list("source", flat=True)) == ["A"]

    def test_separating_the_survivors_own_record_moves_the_others_out(self):
        a = make_lieu("A", "a1", nom="Mairie de Lyon")
        b = make_lieu("B", "b1", nom="Médiathèque de Lyon")
        merge.merge_cluster([a, b])
        lieu = merge.separate(SourceRecord.objects.get(source="A"))
        assert lieu.pk == a.pk
        assert SourceRecord.objects.get(source="B").lieu_id == b.pk
        assert Lieu.objects.filter(fusionne_dans__isnull=True).count() == 2

    def test_separate_creates_a_lieu_when_there_was_none(self):
        lieu = make_lieu("A", "a1")
        extra = SourceRecordFactory(source="B", source_id="b-extra", lieu=lieu, values={"nom": "Autre lieu"})
        new = merge.separate(extra)
        assert new.pk != lieu.pk
        assert new.id_standard == "b-extra"
        assert new.nom == "Autre lieu"

    def test_separate_alone_is_a_no_op(self):
        lieu = make_lieu("A", "a1")
        assert merge.separate(lieu.source_records.get()).pk == lieu.pk

    def test_attach_moves_one_record(self):
        a = make_lieu("A", "a1")
        b = make_lieu("B", "b1")
        merge.attach(b.source_records.get(), a)
        b.refresh_from_db()
        assert b.fusionne_dans_id == a.pk
        assert a.source_records.count() == 2
