"""What several command groups share: the services' names, their applications, a progress bar."""
from __future__ import annotations

import sys


def service_names() -> list[str]:
    from innobase.supervisor import SERVICES

    return [spec.name for spec in SERVICES]


def service_application(name: str):
    from innobase.supervisor import BY_NAME

    return BY_NAME[name].application_class()()


def progress_bar(label: str, width: int = 40):
    def progress(done: int, total: int) -> None:
        filled = width if not total else int(width * done / total)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()

    return progress
