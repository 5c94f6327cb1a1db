"""Only the indexes something reads (each costs every import): none on postcode or SIRET, the INSEE code
only for the lieux linked to no commune."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('lieux', '0006_carte_commune_index'),
        ('territoires', '0001_initial'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='lieu',
            name='lieu_code_insee_idx',
        ),
        migrations.RemoveIndex(
            model_name='lieu',
            name='lieu_code_postal_idx',
        ),
        migrations.RemoveIndex(
            model_name='lieu',
            name='lieu_pivot_idx',
        ),
        migrations.AddIndex(
            model_name='lieu',
            index=models.Index(condition=models.Q(('commune__isnull', True)), fields=['code_insee'], name='lieu_sans_commune_insee_idx'),
        ),
    ]
