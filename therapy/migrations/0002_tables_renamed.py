# The tables take the therapy app's names (renamed in place on PostgreSQL and SQLite; index
# and constraint names are kept), and the content types follow the models, with the
# permissions attached to them.

from django.db import migrations

MODELS = [
    'therapy',
    'goal',
    'goalrating',
    'sessionplan',
    'therapysession',
    'progressflag',
    'nonattendancestep',
]


def _content_types_move(apps, schema_editor, source, target):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    content_types = ContentType.objects.db_manager(schema_editor.connection.alias)
    # Django may have made empty ones for the new app already (after an earlier migrate).
    content_types.filter(app_label=target, model__in=MODELS).delete()
    content_types.filter(app_label=source, model__in=MODELS).update(app_label=target)


def content_types_to_therapy(apps, schema_editor):
    _content_types_move(apps, schema_editor, 'assessment', 'therapy')


def content_types_to_assessment(apps, schema_editor):
    _content_types_move(apps, schema_editor, 'therapy', 'assessment')


class Migration(migrations.Migration):

    dependencies = [
        ('assessment', '0006_therapy_moved_to_therapy_app'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('therapy', '0001_initial'),
    ]

    operations = [
        migrations.AlterModelTable(name='therapy', table=None),
        migrations.AlterModelTable(name='goal', table=None),
        migrations.AlterModelTable(name='goalrating', table=None),
        migrations.AlterModelTable(name='sessionplan', table=None),
        migrations.AlterModelTable(name='therapysession', table=None),
        migrations.AlterModelTable(name='progressflag', table=None),
        migrations.AlterModelTable(name='nonattendancestep', table=None),
        migrations.RunPython(content_types_to_therapy, content_types_to_assessment),
    ]
