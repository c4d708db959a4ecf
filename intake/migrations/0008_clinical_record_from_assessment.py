"""Questionnaire responses and risk flags become the referral's own record, in intake.

State only: the tables stay as they are (and keep every row); intake 0009 renames them.
Assessment 0005 removes the models from assessment's state.
"""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0007_referral_list_indexes"),
        ("assessment", "0004_therapy_current_by_start_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
            migrations.CreateModel(
                name='MeasureResponse',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('measure', models.CharField(max_length=16)),
                    ('context', models.CharField(choices=[('self_referral', 'Self-referral'), ('assessment', 'Assessment'), ('review', 'Review during therapy')], max_length=16)),
                    ('answers', models.JSONField()),
                    ('total', models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True)),
                    ('band', models.CharField(blank=True, max_length=40)),
                    ('caseness', models.BooleanField(null=True)),
                    ('withheld_reason', models.CharField(blank=True, max_length=300)),
                    ('completed_at', models.DateTimeField()),
                    ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='measure_responses', to='intake.referral')),
                    ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('session', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='measure_responses', to='assessment.therapysession')),
                ],
                options={
                    'ordering': ['completed_at'],
                    'indexes': [models.Index(fields=['referral', 'measure', 'completed_at'], name='assessment__referra_0a9eb5_idx')],
                    'constraints': [],
                    'db_table': 'assessment_measureresponse',
                },
            ),
            migrations.CreateModel(
                name='RiskFlag',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('source', models.CharField(choices=[('safety_question', 'Said they were not safe right now'), ('phq9_item9', 'PHQ-9 item 9 (thoughts of death or self-harm)'), ('core10_item6', 'CORE-10 item 6 (plans to end life)'), ('assessment', 'Raised at assessment'), ('staff', 'Raised by staff')], max_length=32)),
                    ('detail', models.CharField(max_length=300)),
                    ('raised_at', models.DateTimeField()),
                    ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                    ('action_taken', models.TextField(blank=True)),
                    ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL)),
                    ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='risk_flags', to='intake.referral')),
                    ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='risk_flags', to='common.service')),
                    ('reason', models.CharField(blank=True, max_length=300)),
                    ('severity', models.PositiveSmallIntegerField(blank=True, null=True)),
                ],
                options={
                    'ordering': ['raised_at'],
                    'indexes': [models.Index(fields=['service', 'acknowledged_at'], name='assessment__service_c786e0_idx')],
                    'constraints': [models.CheckConstraint(condition=models.Q(('acknowledged_at__isnull', True), models.Q(('acknowledged_by__isnull', False), models.Q(('action_taken', ''), _negated=True)), _connector='OR'), name='risk_ack_names_who_and_action'), models.UniqueConstraint(condition=models.Q(('acknowledged_at__isnull', True)), fields=('referral', 'source', 'severity'), name='risk_one_open_flag_per_signal')],
                    'db_table': 'assessment_riskflag',
                },
            ),
            migrations.CreateModel(
                name='RiskFlagRepeat',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('detail', models.CharField(max_length=300)),
                    ('severity', models.PositiveSmallIntegerField(blank=True, null=True)),
                    ('seen_at', models.DateTimeField()),
                    ('flag', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='repeats', to='intake.riskflag')),
                ],
                options={
                    'ordering': ['seen_at', 'id'],
                    'indexes': [],
                    'constraints': [],
                    'db_table': 'assessment_riskflagrepeat',
                },
            ),
            ],
        ),
    ]
