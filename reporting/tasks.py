"""The reporting facts rebuilt for every service, by beat every REPORTING_FACTS_MINUTES."""

from celery import shared_task

from reporting import facts


@shared_task(name="reporting.tasks.facts_rebuild", ignore_result=True)
def facts_rebuild() -> int:
    """Every service's facts built again; the number of referrals they hold."""
    return sum(build.referrals for build in facts.build_all())
