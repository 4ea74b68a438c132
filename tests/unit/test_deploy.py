"""The compose file and `make run` start the same services."""
from pathlib import Path

import pytest
import yaml

from innobase.supervisor import RUNNING as SERVICES

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_the_compose_file_names_every_service_that_make_run_starts():
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    for spec in SERVICES:
        assert spec.name in compose["services"], spec.name
        assert " ".join(spec.command()[3:]) in str(compose["services"][spec.name]["command"])


def test_each_service_has_its_own_nameko_config():
    for spec in SERVICES:
        config = (ROOT / spec.config).read_text()
        assert "${INNOBASE_AMQP_URI:" in config
