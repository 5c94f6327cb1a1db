"""PostgreSQL: the JSON of source records (raw and normalised, ~1 KB each) is compressed with lz4
instead of pglz when it goes to TOAST storage.

A source record's row (~2.5 KB) is above PostgreSQL's TOAST threshold, so each import compresses
its two JSON values: with pglz that was about 100 µs per row written, with lz4 about 70
(bench/bench_import.py, 30,000 rows: 3,800 → 4,100–4,300 rows/s). Values already stored keep their
compression until rewritten. A server built without lz4 keeps pglz. Nothing changes on SQLite.
"""

from django.db import migrations

COLUMNS = ("raw", "normalised")


def _set_compression(schema_editor, method: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name("lieux_sourcerecord")
    alter = ", ".join(f"ALTER COLUMN {schema_editor.quote_name(c)} SET COMPRESSION {method}" for c in COLUMNS)
    # EXECUTE inside a block: a server without lz4 support raises feature_not_supported, caught here.
    schema_editor.execute(
        "DO $$ BEGIN EXECUTE 'ALTER TABLE " + table.replace("'", "''") + " " + alter + "'; "
        "EXCEPTION WHEN feature_not_supported THEN NULL; END $$"
    )


def lz4(apps, schema_editor):
    _set_compression(schema_editor, "lz4")


def default(apps, schema_editor):
    _set_compression(schema_editor, "default")


class Migration(migrations.Migration):
    dependencies = [
        ("lieux", "0007_import_indexes"),
    ]

    operations = [
        migrations.RunPython(lz4, default, elidable=False),
    ]
