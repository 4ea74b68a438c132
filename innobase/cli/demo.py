"""`innobase demo`: sample applications through all six stages of the running system."""
from __future__ import annotations


def _demo(args) -> int:
    from innobase import demo
    from shared import clock, settings

    # The demo's dates and tokens come from the clock the services read (INNOBASE_CLOCK_*).
    clock.install_from_settings(settings.get().clock_start, settings.get().clock_file)
    return demo.main()


def add_parser(commands) -> None:
    demo = commands.add_parser("demo", help="drive sample applications through all six stages (make run first)")
    demo.set_defaults(run=_demo)
