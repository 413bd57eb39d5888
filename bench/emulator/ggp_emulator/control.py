"""Bench control state: what a test asks the emulator to do that AWS would decide on its own.

Deployment outcomes (Greengrass V1 and V2), how many status polls a deployment stays in progress,
and the public Greengrass V2 component versions released beyond the built-in catalogue. The state lives in a moto `BackendDict`, per account, so
`POST /moto-api/reset` clears it like every other piece of emulated AWS state.
The HTTP side of it is `server.py` (`/ggp-bench/...`); the README documents the API.
"""

from __future__ import annotations

import os
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.base_backend import BackendDict, BaseBackend

# Defaults from the command line (set once by __main__ before the server starts).
DEFAULTS = {"deploymentPolls": 2, "v2DeploymentPolls": 2, "componentPolls": 1}


class BenchControl(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.deployment_polls: int = DEFAULTS["deploymentPolls"]
        self.v2_deployment_polls: int = DEFAULTS["v2DeploymentPolls"]
        # DescribeComponent reads a new component version stays INITIATED before it is DEPLOYABLE
        self.component_polls: int = DEFAULTS["componentPolls"]
        # V1: group id (or "*") -> {"status": "Success"|"Failure", "errorMessage": str, "errorDetails": [...]}
        self.v1_outcomes: dict[str, dict[str, Any]] = {}
        # V2: deployment id / target ARN / "*" -> {"status": "COMPLETED"|"FAILED", "reason": str, ...}
        self.v2_outcomes: dict[str, dict[str, Any]] = {}
        # V2 public components AWS "released" after the built-in catalogue (greengrass_v2.PUBLIC_COMPONENTS),
        # in every region: name -> version -> {"created": datetime, "description": str | None}
        self.public_versions: dict[str, dict[str, dict[str, Any]]] = {}

    def v1_outcome(self, group_id: str) -> dict[str, Any] | None:
        return self.v1_outcomes.get(group_id) or self.v1_outcomes.get("*")

    def v2_outcome(self, deployment_id: str, target_arn: str) -> dict[str, Any] | None:
        return self.v2_outcomes.get(deployment_id) or self.v2_outcomes.get(target_arn) or self.v2_outcomes.get("*")


bench_control = BackendDict(BenchControl, "ggp-bench", use_boto3_regions=False, additional_regions=["aws"])


def default_account() -> str:
    return os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)


def control_for(account_id: str) -> BenchControl:
    return bench_control[account_id]["aws"]
