"""The project's own package: contracts and backbone shared by every service."""
import warnings

# nameko 2.14 needs eventlet; its deprecation notice says nothing we can act on.
warnings.filterwarnings("ignore", message=".*Eventlet is deprecated")

import logging  # noqa: E402


class _ClosingChannelNoise(logging.Filter):
    """py-amqp warns of a reply racing a proxy's channel close; harmless, and it buries real output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "during closing channel" not in str(record.msg)


logging.getLogger("amqp").addFilter(_ClosingChannelNoise())
