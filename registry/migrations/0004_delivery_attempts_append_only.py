from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_webhooks")]

    operations = [append_only("registry_deliveryattempt")]
