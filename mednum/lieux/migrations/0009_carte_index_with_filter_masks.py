"""The map's partial index by commune also holds every filter's mask: filtered counts per territory read it alone."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('lieux', '0008_source_record_lz4'),
        ('territoires', '0001_initial'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='lieu',
            name='lieu_carte_commune_idx',
        ),
        migrations.AddIndex(
            model_name='lieu',
            index=models.Index(condition=models.Q(('fusionne_dans__isnull', True), ('latitude__isnull', False), ('longitude__isnull', False)), fields=['commune', 'code_insee', 'services_mask', 'publics_mask', 'prise_en_charge_mask', 'frais_mask', 'dispositifs_mask', 'formations_mask', 'modalites_acces_mask', 'modalites_accompagnement_mask', 'itinerance_mask'], name='lieu_carte_commune_idx'),
        ),
    ]
