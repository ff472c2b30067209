from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Spas, intakes and bookings"

    def ready(self) -> None:
        from core import services as core_services

        def schedule_dispatch(event_id: str) -> None:
            from registry.tasks import dispatch_event

            dispatch_event.delay(event_id)

        core_services.outbox_listeners.append(schedule_dispatch)
