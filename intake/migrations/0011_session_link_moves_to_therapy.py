"""The session a questionnaire was repeated at is now therapy's link (therapy 0003 copied
every one); the old column goes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0010_session_link_to_therapy"),
        ("therapy", "0003_session_responses"),
    ]

    operations = [
        migrations.RemoveField(model_name="measureresponse", name="session"),
    ]
