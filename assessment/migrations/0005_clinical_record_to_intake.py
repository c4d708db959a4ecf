"""Questionnaire responses and risk flags now belong to intake (intake 0008): assessment's
answers to a questionnaire point at intake's model, and the three models leave assessment's
state. The database is untouched.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assessment", "0004_therapy_current_by_start_index"),
        ("intake", "0008_clinical_record_from_assessment"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="assessmentmeasure",
                    name="response",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="intake.measureresponse",
                    ),
                ),
                migrations.DeleteModel(name="RiskFlagRepeat"),
                migrations.DeleteModel(name="RiskFlag"),
                migrations.DeleteModel(name="MeasureResponse"),
            ],
        ),
    ]
