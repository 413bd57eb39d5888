"""ggp_emulator: moto 5.2.5 extended to stand in for AWS IoT Greengrass V1/V2, IoT and Lambda in ggp's tests.

Run it with `PYTHONPATH=bench/emulator python -m ggp_emulator --port 0`; see bench/emulator/README.md.
"""
