from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial"), ("core", "0002_btree_gist_and_audit_append_only")]

    operations = [append_only("registry_decision")]
