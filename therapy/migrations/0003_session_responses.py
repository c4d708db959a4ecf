"""A questionnaire repeated at a session is linked to it from therapy's side.

Until now intake's MeasureResponse pointed up at the session; therapy now keeps the link
(SessionResponse), so the clinical record depends on no app above intake. Every existing
link is copied here, before intake 0011 drops the old column.
"""

import django.db.models.deletion
from django.db import migrations, models


def links_copy(apps, schema_editor):
    MeasureResponse = apps.get_model("intake", "MeasureResponse")
    SessionResponse = apps.get_model("therapy", "SessionResponse")
    db = schema_editor.connection.alias
    linked = MeasureResponse.objects.using(db).filter(session__isnull=False)
    SessionResponse.objects.using(db).bulk_create(
        SessionResponse(session_id=session_id, response_id=response_id)
        for response_id, session_id in linked.values_list("id", "session_id").iterator()
    )


def links_restore(apps, schema_editor):
    MeasureResponse = apps.get_model("intake", "MeasureResponse")
    SessionResponse = apps.get_model("therapy", "SessionResponse")
    db = schema_editor.connection.alias
    for link in SessionResponse.objects.using(db).iterator():
        MeasureResponse.objects.using(db).filter(pk=link.response_id).update(
            session_id=link.session_id
        )


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0010_session_link_to_therapy"),
        ("therapy", "0002_tables_renamed"),
    ]

    operations = [
        migrations.CreateModel(
            name="SessionResponse",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "response",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="intake.measureresponse",
                    ),
                ),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="therapy.therapysession",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="therapysession",
            name="measure_responses",
            field=models.ManyToManyField(
                blank=True,
                related_name="+",
                through="therapy.SessionResponse",
                to="intake.measureresponse",
            ),
        ),
        migrations.RunPython(links_copy, links_restore),
    ]
