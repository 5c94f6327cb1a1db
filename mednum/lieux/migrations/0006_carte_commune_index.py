"""Partial index of the lieux on the map by (commune, INSEE code): the map's counts per territory read it alone."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('lieux', '0005_territory_indexes'),
        ('territoires', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='lieu',
            index=models.Index(condition=models.Q(('fusionne_dans__isnull', True), ('latitude__isnull', False), ('longitude__isnull', False)), fields=['commune', 'code_insee'], name='lieu_carte_commune_idx'),
        ),
    ]
