"""Each referral carries who carried out its assessment and who finished it
(intake.Referral.assessed_by, assessment_finished_by; assessment.models keeps them from now
on). This fills them for the referrals assessed before, a batch at a time, from the
assessments as they are; then drops the index that counting an assessor's referrals read
the assessments through, which nothing reads now."""

from django.db import migrations
from django.db.models import OuterRef, Subquery

BATCH = 5_000


def referrals_carry_who_assessed(apps, schema_editor, batch_size=BATCH):
    Assessment = apps.get_model("assessment", "Assessment")
    Referral = apps.get_model("intake", "Referral")
    db = schema_editor.connection.alias
    of_referral = Assessment.objects.using(db).filter(referral=OuterRef("pk"))
    assessed = Assessment.objects.using(db).order_by("referral_id").values_list(
        "referral_id", flat=True
    )
    last = 0
    while True:
        ids = list(assessed.filter(referral_id__gt=last)[:batch_size])
        if not ids:
            return
        Referral.objects.using(db).filter(pk__in=ids).update(
            assessed_by=Subquery(of_referral.values("assessor")[:1]),
            assessment_finished_by=Subquery(of_referral.values("finished_by")[:1]),
        )
        last = ids[-1]


class Migration(migrations.Migration):
    dependencies = [
        ("assessment", "0009_indexed_for_counting_an_assessors_referrals"),
        ("intake", "0022_referral_carries_who_assessed"),
    ]

    operations = [
        migrations.RunPython(referrals_carry_who_assessed, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="assessment",
            name="assessment_referral_by",
        ),
    ]
