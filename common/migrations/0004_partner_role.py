from django.db import migrations


def create_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="Partner referrer")


def remove_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Partner referrer").delete()


class Migration(migrations.Migration):
    dependencies = [("common", "0003_service_self_referral_open_and_more")]

    operations = [migrations.RunPython(create_role, remove_role)]
