from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        append_only("core_auditevent"),
    ]
