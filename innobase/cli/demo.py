"""`innobase demo`: sample applications through all six stages of the running system."""
from __future__ import annotations


def _demo(args) -> int:
    from innobase import demo

    return demo.main()


def add_parser(commands) -> None:
    demo = commands.add_parser("demo", help="drive sample applications through all six stages (make run first)")
    demo.set_defaults(run=_demo)
