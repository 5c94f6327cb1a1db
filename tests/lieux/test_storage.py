"""How the database stores lieux data (engine-specific storage settings of the migrations)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from tests.factories import SourceRecordFactory
from tests.geo.helpers import postgres_only_for

pytestmark = pytest.mark.django_db


def _lz4_supported(cursor) -> bool:
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL default_toast_compression = 'lz4'")
    except DatabaseError:
        return False
    return True


@postgres_only_for("compression of the source records' JSON in TOAST storage")
def test_source_record_json_compressed_with_lz4():
    """Migration lieux.0008: a source record's JSON going to TOAST storage is compressed with lz4."""
    long_text = "Médiathèque, espace public numérique, aide aux démarches. " * 80  # ~4.6 KB, compressible
    record = SourceRecordFactory(values={"presentation_detail": long_text})
    with connection.cursor() as cursor:
        if not _lz4_supported(cursor):
            pytest.skip("serveur PostgreSQL compilé sans lz4 : la migration garde pglz")
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'lieux_sourcerecord'::regclass "
            "AND attname IN ('raw', 'normalised') ORDER BY attname"
        )
        assert cursor.fetchall() == [("normalised", "l"), ("raw", "l")]
        cursor.execute(
            "SELECT pg_column_compression(raw), pg_column_compression(normalised) FROM lieux_sourcerecord "
            "WHERE id = %s", [record.pk]
        )
        assert cursor.fetchone() == ("lz4", "lz4")
