"""Test settings: a vhost and databases of their own, short retry delays, and
one clock for the test process and every service process it starts.

The clock file holds an instant inside the submission window (5 May – 30 July);
a test that needs another moment writes another instant into it
(`tests.support.clock.set_time`), and every process reads it.
"""
import atexit
import os
import shutil
import tempfile

os.environ.setdefault("INNOBASE_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/innobase_test")
os.environ.setdefault("INNOBASE_DB_PREFIX", "innobase_test")
os.environ.setdefault("INNOBASE_RETRY_DELAYS_MS", "100,300,600")
# A secret of their own: a service refuses to start with the development one outside INNOBASE_DEV=1.
os.environ.setdefault("INNOBASE_TOKEN_SECRET", "innobase-test-secret-" + os.environ["INNOBASE_DB_PREFIX"])
os.environ.setdefault("PYTHONWARNINGS", "ignore")
# Every service under test fails a command that changed a value its cached aggregate shares (shared.freshness).
os.environ.setdefault("INNOBASE_CHECK_CACHE", "1")
os.environ.setdefault(
    "INNOBASE_CLOCK_FILE",
    os.path.join(tempfile.gettempdir(), f"{os.environ['INNOBASE_DB_PREFIX']}-clock"),
)
# The anchors' key and files of their own for each run, as a fresh machine's `make run` makes them
# (`innobase anchors keygen`): the databases are dropped at the start of a run, so are the anchors.
_ANCHORS = tempfile.mkdtemp(prefix=f"{os.environ['INNOBASE_DB_PREFIX']}-anchors-")
atexit.register(shutil.rmtree, _ANCHORS, ignore_errors=True)
os.environ.setdefault("INNOBASE_ANCHOR_DIR", os.path.join(_ANCHORS, "anchors"))
os.environ.setdefault("INNOBASE_ANCHOR_KEY", os.path.join(_ANCHORS, "anchor-key.pem"))
TEST_START = "2026-06-01T10:00:00+08:00"
with open(os.environ["INNOBASE_CLOCK_FILE"], "w") as clock_file:
    clock_file.write(TEST_START)

from shared import anchors, clock, settings  # noqa: E402
from innobase import remote_errors  # noqa: E402,F401  (every service's typed errors come back as their classes)

clock.install_from_settings(None, settings.get().clock_file)
if not os.path.exists(settings.get().anchor_key_file):
    anchors.generate_key()


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def mailbox():
    """A real SMTP server on loopback for one module (tests/support/mail.py); `mailbox.port`."""
    from aiosmtpd.controller import Controller

    from tests.support.mail import Mailbox, free_port

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def pytest_collection_modifyitems(config, items):
    """With INNOBASE_FAST_PATH=0 the speed-ups are off: the tests of a speed-up itself do not apply."""
    if settings.get().fast_path:
        return
    skip = pytest.mark.skip(reason="tests a speed-up, off with INNOBASE_FAST_PATH=0")
    for item in items:
        if item.get_closest_marker("fast_path"):
            item.add_marker(skip)
