"""Test settings: a vhost and databases of their own, short retry delays."""
import os

os.environ.setdefault("INNOBASE_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/innobase_test")
os.environ.setdefault("INNOBASE_DB_PREFIX", "innobase_test")
os.environ.setdefault("INNOBASE_RETRY_DELAYS_MS", "100,300,600")
os.environ.setdefault("PYTHONWARNINGS", "ignore")
