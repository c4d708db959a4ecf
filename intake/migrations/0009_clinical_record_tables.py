"""The clinical record's tables and indexes take intake's names, in place (every row stays),
and their content types follow them, so permissions and admin history keep pointing at them.
"""

from django.db import migrations

MOVED = ("measureresponse", "riskflag", "riskflagrepeat")


def content_types_move(from_app, to_app):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        for model in MOVED:
            old = ContentType.objects.using(db).filter(app_label=from_app, model=model)
            if old.exists():
                # Django may have made an empty one for the new label already: the old row,
                # which permissions and log entries point at, wins.
                ContentType.objects.using(db).filter(app_label=to_app, model=model).delete()
                old.update(app_label=to_app)

    return move


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0008_clinical_record_from_assessment"),
        ("assessment", "0005_clinical_record_to_intake"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RenameIndex(
            model_name="measureresponse",
            new_name="intake_meas_referra_7dc8d9_idx",
            old_name="assessment__referra_0a9eb5_idx",
        ),
        migrations.RenameIndex(
            model_name="riskflag",
            new_name="intake_risk_service_8e73d5_idx",
            old_name="assessment__service_c786e0_idx",
        ),
        migrations.AlterModelTable(name="measureresponse", table=None),
        migrations.AlterModelTable(name="riskflag", table=None),
        migrations.AlterModelTable(name="riskflagrepeat", table=None),
        migrations.RunPython(
            content_types_move("assessment", "intake"), content_types_move("intake", "assessment")
        ),
    ]
