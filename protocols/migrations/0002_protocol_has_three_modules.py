from django.db import migrations

# A protocol must end every transaction with exactly one module of each of the three kinds.
# A deferred constraint trigger checks it at commit, so a service can insert the protocol and
# then its modules in one transaction.
SQL = """
CREATE OR REPLACE FUNCTION protocols_check_three_modules() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pid uuid;
    kinds int;
BEGIN
    IF TG_TABLE_NAME = 'protocols_protocol' THEN
        pid := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        pid := OLD.protocol_id;
    ELSE
        pid := NEW.protocol_id;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM protocols_protocol WHERE id = pid) THEN
        RETURN NULL;  -- the protocol itself was deleted
    END IF;
    SELECT count(DISTINCT kind) INTO kinds FROM protocols_module
        WHERE protocol_id = pid AND kind IN ('fundamentals', 'critical-details', 'harm-avoidance');
    IF kinds <> 3 THEN
        RAISE EXCEPTION 'A protocol needs exactly three modules: fundamentals, critical-details and harm-avoidance (protocol %)', pid
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER protocol_has_three_modules
    AFTER INSERT ON protocols_protocol DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION protocols_check_three_modules();
CREATE CONSTRAINT TRIGGER module_change_keeps_three_modules
    AFTER INSERT OR UPDATE OR DELETE ON protocols_module DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION protocols_check_three_modules();
"""

REVERSE = """
DROP TRIGGER IF EXISTS protocol_has_three_modules ON protocols_protocol;
DROP TRIGGER IF EXISTS module_change_keeps_three_modules ON protocols_module;
DROP FUNCTION IF EXISTS protocols_check_three_modules();
"""


class Migration(migrations.Migration):
    dependencies = [("protocols", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
