"""Preferences keep "no" apart from no answer: an interpreter not needed (False) from the
question not answered (None), and "I do not mind" the therapist's gender ("any") from no
answer (blank). Earlier rows stored both as False or blank, so which it was cannot be known:
they become "not answered", never a "no" the person may not have given."""

from django.db import migrations, models


def unknown_interpreter_answers(apps, schema_editor):
    Preferences = apps.get_model("intake", "Preferences")
    Preferences.objects.filter(interpreter_needed=False).update(interpreter_needed=None)


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0011_session_link_moves_to_therapy"),
    ]

    operations = [
        migrations.AlterField(
            model_name="preferences",
            name="interpreter_needed",
            field=models.BooleanField(blank=True, default=None, null=True),
        ),
        migrations.RunPython(unknown_interpreter_answers, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="preferences",
            name="therapist_gender",
            field=models.CharField(
                blank=True,
                choices=[
                    ("any", "Does not mind"),
                    ("female", "A woman"),
                    ("male", "A man"),
                    ("non_binary", "A non-binary person"),
                ],
                max_length=16,
            ),
        ),
    ]
