"""State only: a questionnaire answered at a therapy session points at therapy's session model,
which therapy 0001 takes over from assessment (same table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0009_clinical_record_tables"),
        ("therapy", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="measureresponse",
                    name="session",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="measure_responses",
                        to="therapy.therapysession",
                    ),
                ),
            ],
        ),
    ]
