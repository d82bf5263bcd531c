"""A moto server (local AWS SSM Parameter Store, Secrets Manager, ...) for the tests.

Usage: python moto_server.py PORT
Serves on 127.0.0.1:PORT, prints "ready" once it accepts requests, and stops when its standard
input closes: the test process that started it holds that pipe, so the server never outlives
the tests, even when they crash.
"""
import logging
import sys

from moto.server import ThreadedMotoServer

logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
