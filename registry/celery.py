"""The Celery app. With no ``CELERY_BROKER_URL`` tasks run eagerly, in-process."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Row-level security (registry.rls): every task runs in the ``system`` scope — re-check fan-out,
# reminders, imports and deliveries read across tenants — and the scope it interrupted (an
# eager task run at a request's commit) is back after it.
_previous_scopes: dict[str, object] = {}


@task_prerun.connect
def _system_scope_for_task(task_id=None, **_kwargs):
    from registry import rls

    _previous_scopes[task_id] = rls.current_scope()
    rls.set_scope(rls.SYSTEM)


@task_postrun.connect
def _scope_after_task(task_id=None, **_kwargs):
    from registry import rls

    rls.set_scope(_previous_scopes.pop(task_id, None))
