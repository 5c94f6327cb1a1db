"""PostgreSQL: the GiST index over lieux carries id, coordinates and filter masks (index-only scans).

Nothing changes on SQLite (its R*Tree is joined with lieux_lieu for the filters).
"""

from django.db import migrations


def covering(apps, schema_editor):
    from mednum.geo import spatial_index

    spatial_index.upgrade_postgres_index(schema_editor.connection, covered=True)


def plain(apps, schema_editor):
    from mednum.geo import spatial_index

    spatial_index.upgrade_postgres_index(schema_editor.connection, covered=False)


class Migration(migrations.Migration):
    dependencies = [
        ("lieux", "0003_spatial_index"),
    ]

    operations = [
        migrations.RunPython(covering, plain, elidable=False),
    ]
