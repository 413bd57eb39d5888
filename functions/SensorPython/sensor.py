"""Greengrass V1 long-lived function: reads a serial sensor, stores and publishes readings."""
import json
import os
import time

try:
    import greengrasssdk

    _iot = greengrasssdk.client("iot-data")
    _secrets = greengrasssdk.client("secretsmanager")
except ImportError:  # pragma: no cover
    _iot = _secrets = None

THING = os.environ.get("AWS_IOT_THING_NAME", "unknown")
READINGS = os.environ.get("READINGS_DIR", "/sensors")


def read_serial(device="/dev/ttyS0"):
    with open(device, "rb", buffering=0) as port:
        return port.readline().decode("ascii", "replace").strip()


def function_handler(event, context):
    value = read_serial()
    reading = {"thing": THING, "value": value, "time": time.time()}
    with open(os.path.join(READINGS, "latest.json"), "w") as f:
        json.dump(reading, f)
    if _iot is not None:
        _iot.publish(topic=THING + "/sensors/serial/reading", payload=json.dumps(reading))
    return reading
