# Therapy's models move from the assessment app, keeping their tables (state only; the
# tables are renamed in 0002).

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('assessment', '0004_therapy_current_by_start_index'),
        ('common', '0004_partner_role'),
        ('intake', '0007_referral_list_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Goal',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('description', models.CharField(max_length=300)),
                        ('status', models.CharField(choices=[('active', 'Working on it'), ('closed', 'No longer working on it')], default='active', max_length=16)),
                        ('agreed_on', models.DateField()),
                        ('closed_on', models.DateField(blank=True, null=True)),
                        ('close_reason', models.CharField(blank=True, max_length=300)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='goals', to='intake.referral')),
                        ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='common.service')),
                    ],
                    options={
                        'db_table': 'assessment_goal',
                        'ordering': ['agreed_on', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Therapy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('started_on', models.DateField()),
                        ('ended_on', models.DateField(blank=True, null=True)),
                        ('end_reason', models.CharField(blank=True, choices=[('completed', 'Planned ending'), ('non_attendance', 'Discharged after missed sessions'), ('handed_over', 'Handed over to another therapist')], max_length=16)),
                        ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='therapies', to='intake.referral')),
                        ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='common.service')),
                        ('started_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('therapist', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='therapies', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'assessment_therapy',
                        'ordering': ['started_on', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='NonAttendanceStep',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('step', models.CharField(choices=[('letter', 'Letter asking the client to get in touch'), ('discharge', 'Discharged after missed sessions')], max_length=16)),
                        ('missed_in_a_row', models.PositiveSmallIntegerField()),
                        ('letter_queued', models.BooleanField(default=False)),
                        ('note', models.TextField(blank=True)),
                        ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='non_attendance_steps', to='intake.referral')),
                        ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='common.service')),
                        ('therapy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='therapy.therapy')),
                    ],
                    options={
                        'db_table': 'assessment_nonattendancestep',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='TherapySession',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('occurred_on', models.DateField()),
                        ('attendance', models.CharField(choices=[('attended', 'Attended'), ('did_not_attend', 'Did not attend'), ('cancelled_by_client', 'Cancelled by the client'), ('cancelled_by_service', 'Cancelled by the service')], max_length=24)),
                        ('note', models.CharField(blank=True, max_length=500)),
                        ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='therapy_sessions', to='intake.referral')),
                        ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='common.service')),
                        ('therapy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sessions', to='therapy.therapy')),
                    ],
                    options={
                        'db_table': 'assessment_therapysession',
                        'ordering': ['occurred_on', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='GoalRating',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('score', models.PositiveSmallIntegerField()),
                        ('rated_on', models.DateField()),
                        ('goal', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='ratings', to='therapy.goal')),
                        ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'assessment_goalrating',
                        'ordering': ['rated_on', 'id'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('score__lte', 10)), name='goal_rating_0_to_10')],
                    },
                ),
                migrations.CreateModel(
                    name='ProgressFlag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('reason', models.CharField(choices=[('no_improvement_at_review', 'No reliable improvement at a review point'), ('reliable_deterioration', 'Reliable deterioration')], max_length=32)),
                        ('review_date', models.DateField(blank=True, null=True)),
                        ('detail', models.CharField(max_length=300)),
                        ('raised_at', models.DateTimeField()),
                        ('reviewed_at', models.DateTimeField(blank=True, null=True)),
                        ('review_note', models.TextField(blank=True)),
                        ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='progress_flags', to='intake.referral')),
                        ('reviewed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='common.service')),
                    ],
                    options={
                        'db_table': 'assessment_progressflag',
                        'ordering': ['raised_at'],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('reason', 'no_improvement_at_review')), fields=('referral', 'review_date'), name='one_review_flag_per_review_point'), models.CheckConstraint(condition=models.Q(('reviewed_at__isnull', True), models.Q(('reviewed_by__isnull', False), models.Q(('review_note', ''), _negated=True)), _connector='OR'), name='progress_flag_review_names_who_and_what')],
                    },
                ),
                migrations.CreateModel(
                    name='SessionPlan',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('version', models.PositiveIntegerField()),
                        ('length', models.CharField(choices=[('fixed', 'A fixed number of sessions'), ('open_ended', 'Open-ended, with reviews')], max_length=16)),
                        ('session_count', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('sessions_per_week', models.PositiveSmallIntegerField()),
                        ('regular_times', models.JSONField(default=list)),
                        ('mode', models.CharField(choices=[('in_person', 'In person'), ('video', 'Video call'), ('phone', 'Telephone')], max_length=16)),
                        ('room', models.CharField(blank=True, max_length=100)),
                        ('starts_on', models.DateField()),
                        ('ends_on', models.DateField(blank=True, null=True)),
                        ('review_dates', models.JSONField(blank=True, default=list)),
                        ('breaks', models.JSONField(blank=True, default=list)),
                        ('ending_plan', models.TextField(blank=True)),
                        ('couch_discussed', models.CharField(blank=True, max_length=8)),
                        ('measures_every_sessions', models.PositiveSmallIntegerField(default=4)),
                        ('repeat_measures', models.JSONField(default=list)),
                        ('change_reason', models.CharField(max_length=500)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='session_plans', to='intake.referral')),
                        ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='common.service')),
                        ('site', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to='common.site')),
                    ],
                    options={
                        'db_table': 'assessment_sessionplan',
                        'ordering': ['version'],
                        'constraints': [models.UniqueConstraint(fields=('referral', 'version'), name='plan_version_unique'), models.CheckConstraint(condition=models.Q(('sessions_per_week__gte', 1), ('sessions_per_week__lte', 5)), name='plan_sessions_per_week_1_to_5'), models.CheckConstraint(condition=models.Q(('length', 'open_ended'), ('session_count__isnull', False), _connector='OR'), name='fixed_plan_has_session_count')],
                    },
                ),
                migrations.AddIndex(
                    model_name='therapy',
                    index=models.Index(condition=models.Q(('ended_on__isnull', True)), fields=['service', 'started_on', 'id'], name='therapy_current_by_start'),
                ),
                migrations.AddConstraint(
                    model_name='therapy',
                    constraint=models.UniqueConstraint(condition=models.Q(('ended_on__isnull', True)), fields=('referral',), name='one_current_therapy_per_referral'),
                ),
                migrations.AddConstraint(
                    model_name='therapysession',
                    constraint=models.UniqueConstraint(fields=('referral', 'occurred_on'), name='one_session_record_per_day'),
                ),
            ],
            database_operations=[],
        ),
    ]
