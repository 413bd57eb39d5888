"""Greengrass V1 long-lived Python function: publishes a signed heartbeat."""
import json
import os
import threading

import six
from Crypto.Hash import SHA256

try:  # present on a Greengrass core; absent when the module is imported elsewhere
    import greengrasssdk

    _client = greengrasssdk.client("iot-data")
except ImportError:  # pragma: no cover
    _client = None

THING = os.environ.get("AWS_IOT_THING_NAME", "unknown")
TOPIC = THING + "/python/hello"


def digest(text):
    return SHA256.new(six.ensure_binary(text)).hexdigest()


def heartbeat():
    message = {"greeting": os.environ.get("GREETING", "hello"), "thing": THING}
    message["sha256"] = digest(json.dumps(message, sort_keys=True))
    if _client is not None:
        _client.publish(topic=TOPIC, payload=json.dumps(message))
    threading.Timer(30, heartbeat).start()


def function_handler(event, context):
    """Answers a request or a sensor reading with its digest."""
    body = json.dumps(event, sort_keys=True)
    if _client is not None:
        _client.publish(topic=TOPIC, payload=json.dumps({"received": digest(body)}))
    return {"sha256": digest(body)}


heartbeat()
