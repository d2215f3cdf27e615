"""The Celery app workers run (``celery -A platform_assets.operations.celery_app worker -Q heavy ...``).

dagster-celery's own worker app (``dagster_celery.app``, its documented ``-A`` target), pointed
at the broker and result backend of the environment, which the runs read too
(``brainstar.core.settings``). Needs the extra ``brainstar[celery]``; see ``deploy/celery/README.md``.
"""

from dagster_celery.app import app

from brainstar.core import settings

app.conf.update(
    broker_url=settings.celery_broker(),
    result_backend=settings.celery_backend(),
    # dagster-celery's worker default is 4 reserved tasks per process; the runs' app uses 1.
    # One keeps a busy worker from sitting on steps that an idle worker could start.
    worker_prefetch_multiplier=1,
)

__all__ = ["app"]
