from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("credentials", "0001_initial")]

    operations = [
        append_only(
            "credentials_certification",
            updatable_columns=(
                "revoked_at", "revoked_by_id", "revoked_reason",
                "review_required", "review_reason", "reviewed_at", "reviewed_by_id",
            ),
        ),
        append_only("credentials_modulecompletion"),
    ]
