"""Installs mafita-analytics' change capture: the change log, its state row and the row
triggers on the tables the analytics read. The SQL is exactly what `mafita-analytics capture
install --print` writes for the database in use (sql/<vendor>_install.sql); reversing the
migration runs `capture uninstall`'s SQL."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def statements(vendor, action):
    path = SQL_DIR / f"{vendor}_{action}.sql"
    if not path.exists():
        raise RuntimeError(
            f"mafita-analytics change capture supports PostgreSQL and SQLite, not {vendor!r}"
        )
    # Statements are separated by a blank line after their semicolon; the script's own
    # BEGIN/COMMIT are left to Django, which runs the migration in one transaction.
    parts = (s.strip() for s in path.read_text().split(";\n\n"))
    return [s for s in parts if s and s not in ("BEGIN", "COMMIT;", "COMMIT")]


def run(action):
    def apply(apps, schema_editor):
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            for statement in statements(connection.vendor, action):
                cursor.execute(statement)

    return apply


class Migration(migrations.Migration):
    # The triggers go on these apps' tables, so their migrations run first.
    dependencies = [
        ("accounts", "__latest__"),
        ("wallet", "__latest__"),
        ("p2p", "__latest__"),
        ("gasfee", "__latest__"),
        ("rewards", "__latest__"),
    ]

    operations = [migrations.RunPython(run("install"), reverse_code=run("uninstall"))]
