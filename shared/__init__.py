"""The project's own package: contracts and backbone shared by every service."""
import warnings

# nameko 2.14 needs eventlet; its deprecation notice says nothing we can act on.
warnings.filterwarnings("ignore", message=".*Eventlet is deprecated")
