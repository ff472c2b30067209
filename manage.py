#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    # Management commands run in the ``system`` row-level security scope (registry.rls); the
    # requests runserver serves each start with none and get their caller's.
    os.environ.setdefault("REGISTRY_PROCESS_SCOPE", "system")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
