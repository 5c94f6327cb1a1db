"""Indexes for lists of published lieux at a million rows.

* `fusionne_dans_id`: the index holds only merged lieux (partial index). A plain index on this
  mostly-NULL column led SQLite's planner (whose statistics count each NULL as a distinct value) to read
  every lieu through it for `fusionne_dans_id IS NULL`: ~2 s per territory page at a million lieux.
* `commune_id`: replaced by (commune_id, nom, id), which still serves lookups by commune and gives a
  commune's lieux in name order without sorting them (territory pages).

The database side drops the foreign keys' own indexes by introspection (their names are generated) and
creates the new ones, without rebuilding the table (SQLite would copy it whole for an AlterField).
"""

from django.db import migrations, models

FUSIONNE_DANS = models.Index(
    fields=["fusionne_dans"], name="lieu_fusionne_dans_idx", condition=models.Q(fusionne_dans__isnull=False)
)
COMMUNE_NOM = models.Index(fields=["commune", "nom", "id"], name="lieu_commune_nom_idx")
REPLACED = (("fusionne_dans", FUSIONNE_DANS), ("commune", COMMUNE_NOM))


def _plain_indexes(schema_editor, model, column):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    new_names = {index.name for _field, index in REPLACED}
    return [
        name for name, info in constraints.items()
        if info.get("index") and not info.get("unique") and not info.get("primary_key")
        and info.get("columns") == [column] and name not in new_names
    ]


def forwards(apps, schema_editor):
    model = apps.get_model("lieux", "Lieu")
    for field_name, index in REPLACED:
        column = model._meta.get_field(field_name).column
        for name in _plain_indexes(schema_editor, model, column):
            schema_editor.execute(schema_editor._delete_index_sql(model, name))
        schema_editor.add_index(model, index)


def backwards(apps, schema_editor):
    model = apps.get_model("lieux", "Lieu")
    for field_name, index in REPLACED:
        schema_editor.remove_index(model, index)
        field = model._meta.get_field(field_name)
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [
        ("territoires", "0001_initial"),
        ("lieux", "0004_covering_gist_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="lieu",
                    name="fusionne_dans",
                    field=models.ForeignKey(
                        blank=True, db_index=False,
                        help_text="Lieu qui regroupe désormais les sources de celui-ci (doublon fusionné).",
                        null=True, on_delete=models.deletion.SET_NULL, related_name="fusionnes", to="lieux.lieu",
                    ),
                ),
                migrations.AlterField(
                    model_name="lieu",
                    name="commune",
                    field=models.ForeignKey(
                        blank=True, db_index=False, null=True, on_delete=models.deletion.SET_NULL,
                        related_name="lieux", to="territoires.commune",
                    ),
                ),
                migrations.AddIndex(model_name="lieu", index=FUSIONNE_DANS),
                migrations.AddIndex(model_name="lieu", index=COMMUNE_NOM),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
