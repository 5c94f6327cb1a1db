"""Spatial index over lieux_lieu: SQLite R*Tree + triggers, or PostgreSQL GiST on point(longitude, latitude).

The SQL lives in `mednum.geo.spatial_index` (also used by `manage.py rebuild_spatial_index`); each
database gets only its own part (the function looks at `schema_editor.connection.vendor`).
"""

from django.db import migrations


def create_spatial_index(apps, schema_editor):
    from mednum.geo import spatial_index

    spatial_index.install(schema_editor.connection)


def drop_spatial_index(apps, schema_editor):
    from mednum.geo import spatial_index

    spatial_index.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("lieux", "0002_dedup"),
    ]

    operations = [
        migrations.RunPython(create_spatial_index, drop_spatial_index, elidable=False),
    ]
