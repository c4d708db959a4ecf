# Therapy's models now belong to the therapy app (therapy 0001 takes them over, keeping the
# tables). State only: no table is dropped and no row is touched.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('assessment', '0005_clinical_record_to_intake'),
        ('therapy', '0001_initial'),
        # The questionnaire answers' link to their session points at therapy's model first.
        ('intake', '0010_session_link_to_therapy'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
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
