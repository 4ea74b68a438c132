"""Integration event contracts: the only shape in which facts cross services.

`core` holds the envelope, the registry and `parse`/`build`; each source's
events are in a module of their own, registered on import.
"""
from shared.contracts.core import (  # noqa: F401
    BASE_TYPES,
    CONTRACTS,
    SECTIONS,
    Attachment,
    ContractViolation,
    EnvelopeSchema,
    IntegrationEvent,
    Person,
    build,
    parse,
    register,
    routing_key,
)
from shared.contracts import accounts, endorsement, intake, review  # noqa: F401,E402
