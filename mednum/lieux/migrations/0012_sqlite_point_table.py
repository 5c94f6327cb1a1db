"""SQLite: `geo_lieu_point` beside the R*Tree — id, coordinates and filter masks of every indexed lieu,
read by nearest-lieux queries instead of the wide `lieux_lieu` rows (see `mednum.geo.spatial_index`).

Creates and fills the table, and replaces the R*Tree's triggers by ones that keep both in step. Nothing
to do on PostgreSQL, whose GiST index already carries these columns.
"""

from django.db import migrations


def create_point_table(apps, schema_editor):
    from mednum.geo import spatial_index

    connection = schema_editor.connection
    if connection.vendor == "sqlite" and spatial_index.has_rtree(connection):
        spatial_index.install(connection)


def drop_point_table(apps, schema_editor):
    from mednum.geo import spatial_index

    spatial_index.drop_point_table(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("lieux", "0011_alter_lieu_options"),
    ]

    operations = [
        migrations.RunPython(create_point_table, drop_point_table, elidable=False),
    ]
