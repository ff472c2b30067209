from tests.web.conftest import record_intake
from registry.services.bookings import booking_create, slot_validate
import datetime as dt
from django.utils import timezone
def test_pages(world, client):
    client.force_login(world.desk)
    start = timezone.now() + dt.timedelta(days=1)
    for i in range(6):
        intake = record_intake(world, client_ref=f"C-{i}")
        slot = slot_validate(spa=world.spa, intake=intake, start=start + dt.timedelta(hours=i), duration_minutes=60, focus_region="lumbar", focus_minutes=20)
        booking_create(actor=None, therapist=world.beth, slot=slot)
        booking_create(actor=None, therapist=world.ana, slot=slot)
    r = client.get("/front-desk/coverage/")
    print(r.status_code)
    open("/tmp/cov/spa.html","wb").write(r.content)
    r = client.get("/front-desk/coverage/conditions.csv")
    print(r.status_code, r.content.decode())
    r = client.get("/front-desk/coverage/forecast.csv?from=2026-01-01")
    print(r.status_code, r.content.decode())
    r = client.get("/front-desk/coverage/forecast.csv?from=2027-01-01")
    print(r.status_code, r.content.decode())
    client.force_login(world.school_office)
    r = client.get("/school/demand/")
    print(r.status_code)
    open("/tmp/cov/school.html","wb").write(r.content)
