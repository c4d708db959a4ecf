# Therapy's models now belong to the therapy app (therapy 0001 takes them over, keeping the
# tables). State only: no table is dropped and no row is touched.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assessment', '0004_therapy_current_by_start_index'),
        ('therapy', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='measureresponse',
                    name='session',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='measure_responses', to='therapy.therapysession'),
                ),
                migrations.DeleteModel(name='GoalRating'),
                migrations.DeleteModel(name='Goal'),
                migrations.DeleteModel(name='NonAttendanceStep'),
                migrations.DeleteModel(name='TherapySession'),
                migrations.DeleteModel(name='ProgressFlag'),
                migrations.DeleteModel(name='SessionPlan'),
                migrations.DeleteModel(name='Therapy'),
            ],
            database_operations=[],
        ),
    ]
