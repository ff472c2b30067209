"""Celery tasks: thin wrappers over the delivery services, taking ids."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from registry import delivery


@shared_task(name="registry.dispatch_event", ignore_result=True)
def dispatch_event(event_id: str) -> None:
    for item in delivery.event_dispatch(event_id=event_id):
        deliver.delay(str(item.pk))


@shared_task(name="registry.deliver", bind=True, ignore_result=True, max_retries=None)
def deliver(self, delivery_id: str) -> None:
    item = delivery.delivery_attempt(delivery_id=delivery_id)
    if item is not None and item.delivered_at is None:
        countdown = max(0.0, (item.next_attempt_at - timezone.now()).total_seconds())
        deliver.apply_async((delivery_id,), countdown=countdown)


@shared_task(name="registry.sweep_outbox", ignore_result=True)
def sweep_outbox() -> None:
    events, deliveries = delivery.due_work()
    for event_id in events:
        dispatch_event.delay(event_id)
    for delivery_id in deliveries:
        deliver.delay(delivery_id)


@shared_task(name="registry.send_expiry_reminders", ignore_result=True)
def send_expiry_reminders() -> None:
    from registry.services.reminders import expiry_reminders_send

    expiry_reminders_send()


@shared_task(name="registry.run_import", ignore_result=True)
def run_import(job_id: str) -> None:
    from registry.services.imports import import_run

    import_run(job_id=job_id)
