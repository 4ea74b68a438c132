"""Every service's typed errors, registered with nameko for a tool's RPC proxy.

A service sends an error by its class's path (`services.intake.errors.SubmissionWindowClosed`);
the caller raises that class only when it has imported it, else a bare `RemoteError`.
Importing this module imports the `errors` module of every service package.
"""
from __future__ import annotations

import importlib.util
import pkgutil

import services


def register_all() -> list[str]:
    """Import `services.<name>.errors` for every service package that has one; their names."""
    found = []
    for package in pkgutil.iter_modules(services.__path__):
        if package.ispkg:
            name = f"services.{package.name}.errors"
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
                found.append(name)
    return found


SERVICE_ERRORS = register_all()
