"""Command line: start the extended moto server and print the URL it listens on.

The first line on stdout is `listening on http://HOST:PORT` (flushed), so a harness that starts
the emulator with `--port 0` can read which port it got. The second line is
`credentials provider on https://HOST:PORT ca /path/ca.pem`: the AWS IoT credentials provider
stand-in (credentials_provider.py); `GET /ggp-bench/health` gives the same, and the unix sockets.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ggp_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    parser.add_argument(
        "--deployment-polls",
        type=int,
        default=2,
        help="GetDeploymentStatus polls a Greengrass V1 deployment stays Building/InProgress (default 2)",
    )
    parser.add_argument(
        "--v2-deployment-polls",
        type=int,
        default=2,
        help="GetDeployment polls a Greengrass V2 deployment stays ACTIVE (default 2)",
    )
    parser.add_argument(
        "--credentials-port",
        type=int,
        default=0,
        help="TLS port of the IoT credentials provider stand-in; 0 picks a free one (default 0)",
    )
    parser.add_argument(
        "--socket-dir",
        action="append",
        default=[],
        help="also serve aws.sock and credentials.sock (unix sockets) in this folder, for devices without a network (repeatable)",
    )
    parser.add_argument(
        "--today",
        default=os.environ.get("GGP_BENCH_TODAY") or None,
        help="the date (YYYY-MM-DD) Lambda's runtime block dates are compared with (default: env GGP_BENCH_TODAY, else the real date)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when stdin reaches end of file: a harness keeps stdin open and the emulator ends with it",
    )
    args = parser.parse_args(argv)
    if args.deployment_polls < 0 or args.v2_deployment_polls < 0:
        parser.error("poll counts must be >= 0")
    from . import runtimes

    try:
        runtimes.set_today(args.today)
    except ValueError:
        parser.error(f"--today {args.today}: not a date of the form YYYY-MM-DD")

    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

    from werkzeug.serving import make_server

    from moto.moto_server.werkzeug_app import MotoRequestHandler

    from . import control, credentials_provider
    from .server import build_app

    control.DEFAULTS["deploymentPolls"] = args.deployment_polls
    control.DEFAULTS["v2DeploymentPolls"] = args.v2_deployment_polls

    handler = MotoRequestHandler
    if args.quiet:

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *a, **k):  # noqa: D401
                pass

        handler = QuietHandler

    app = build_app()
    server = make_server(args.host, args.port, app, threaded=True, request_handler=handler)
    port = server.server_port
    # moto builds some self-referencing URLs from MOTO_PORT
    os.environ["MOTO_PORT"] = str(port)
    host = args.host if ":" not in args.host else f"[{args.host}]"
    creds = credentials_provider.start(args.host, args.credentials_port, quiet=args.quiet)
    for d in args.socket_dir:
        credentials_provider.open_socket_dir(d, app, quiet=args.quiet)
    # First line: unchanged format, read by harnesses (tests/common/emulator.rs, tests/conftest.py).
    print(f"listening on http://{host}:{port}", flush=True)
    print(f"credentials provider on {creds.url} ca {creds.ca_file}", flush=True)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_on_stdin_eof:

        def watch_stdin() -> None:
            while sys.stdin.buffer.read(4096):
                pass
            server.shutdown()

        threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        server.serve_forever()
    finally:
        server.server_close()
        credentials_provider.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
