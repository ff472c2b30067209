from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("registry", "0008_session_outcomes_and_adverse_events")]

    operations = [
        append_only("registry_sessioncertification"),
        append_only("registry_sessionoutcome"),
        append_only("registry_adverseevent"),
        append_only("registry_adverseevent_certifications"),
    ]
