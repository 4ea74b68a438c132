"""`innobase`: the command line for developers, ops and auditors.

  innobase token mint --party P --role R --org O [--ttl SECONDS]
  innobase deadletters list SERVICE [--json]
  innobase deadletters replay SERVICE [--event-id ID ...]
  innobase health
  innobase audit timeline APP          merged history of one application across all services
  innobase audit state APP --at TIME   every service's part of it as of TIME
  innobase audit verify [SERVICE]      hash chains against signed anchors and stored hashes
  innobase anchors keygen [--if-missing] the key that signs the anchors (a file, never in a database)
  innobase audit export APP            the timeline as JSON Lines
  innobase audit replay SERVICE        replay a service's whole log into memory, with its rate
  innobase rebuild SERVICE             drop and rebuild a service's read models from its log
  innobase demo                        sample applications through all six stages of the running system
  innobase print-sample plan|letter --out FILE.pdf [--draft]   a sample's printed plan or letter, no system needed
  innobase verify-print FILE.pdf | --digest D   is a printed plan a submitted version in the log?

Each command group is one module of this package with an `add_parser(subparsers)`;
a new group is a new module, found here without editing this file.
"""
import warnings

# Before anything imports eventlet (nameko does): its deprecation notice, which
# begins with a newline, says nothing an operator can act on.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import argparse  # noqa: E402
import importlib  # noqa: E402
import pkgutil  # noqa: E402
import sys  # noqa: E402


def command_groups() -> list:
    """Every public module of this package that adds a command group, in name order
    (`__main__` and `_common` are not groups)."""
    modules = (importlib.import_module(f"{__name__}.{info.name}")
               for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
    return [module for module in modules if hasattr(module, "add_parser")]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="innobase", description="Innovation base services: ops and audit tools")
    commands = top.add_subparsers(dest="command", required=True)
    for group in command_groups():
        group.add_parser(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)
