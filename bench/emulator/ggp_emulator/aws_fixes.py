"""Fixes to moto's IoT and Lambda backends where they differ from AWS in ways ggp depends on.

- IoT DescribeEndpoint: one host per account, region and endpoint type (moto randomises per call).
- IoT CreateCertificateFromCsr: the certificate carries the CSR's public key (moto made a new key,
  so the device's private key never matched its certificate).
- IoT UpdateCertificate: PENDING_TRANSFER / PENDING_ACTIVATION are refused, as documented.
- IoT SetDefaultPolicyVersion: an unknown version is ResourceNotFoundException (moto cleared the default).
- IoT UpdateRoleAlias: lastModifiedDate moves.
- IoT CreateThingGroup: repeating it without properties returns the existing group (moto refused).
- Lambda PublishVersion: no new version when code (CodeSha256) and configuration are unchanged since
  the last published version; the existing one is returned (moto published on any update call).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from typing import Any

from moto.core.utils import utcnow


# ------------------------------------------------------------------------------------------------ IoT


def _endpoint_identifier(account_id: str, region: str, kind: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    h = hashlib.sha256(f"{account_id}/{region}/{kind}".encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in h[:14])


_CA_LOCK = threading.Lock()
_CA: tuple[Any, Any] | None = None


def _signing_ca():
    """One issuing CA per emulator process (the role of Amazon's device CA)."""
    global _CA
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    with _CA_LOCK:
        if _CA is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name(
                [
                    x509.NameAttribute(x509.NameOID.COUNTRY_NAME, "US"),
                    x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Moto"),
                    x509.NameAttribute(x509.NameOID.ORGANIZATIONAL_UNIT_NAME, "Server CA 1B"),
                    x509.NameAttribute(x509.NameOID.COMMON_NAME, "Moto"),
                ]
            )
            _CA = (key, name)
        return _CA


def patch_iot() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from moto.iot import models as iot_models
    from moto.iot.exceptions import InvalidRequestException, ResourceNotFoundException

    IoTBackend = iot_models.IoTBackend

    def describe_endpoint(self, endpoint_type: str):
        ep = iot_models.FakeEndpoint(endpoint_type, self.region_name)  # validates the type
        kind = "data" if endpoint_type in ("iot:Data", "iot:Data-ATS") else endpoint_type
        ident = _endpoint_identifier(self.account_id, self.region_name, kind)
        if endpoint_type == "iot:Data":
            ep.endpoint = f"{ident}.iot.{self.region_name}.amazonaws.com"
        elif endpoint_type == "iot:Data-ATS":
            ep.endpoint = f"{ident}-ats.iot.{self.region_name}.amazonaws.com"
        elif endpoint_type == "iot:CredentialProvider":
            ep.endpoint = f"{ident}.credentials.iot.{self.region_name}.amazonaws.com"
        else:
            ep.endpoint = f"{ident}.jobs.iot.{self.region_name}.amazonaws.com"
        self.endpoint = ep
        return ep

    IoTBackend.describe_endpoint = describe_endpoint

    def create_certificate_from_csr(self, csr: str, set_as_active: bool):
        try:
            req = x509.load_pem_x509_csr(csr.encode("utf-8"))
        except ValueError:
            raise InvalidRequestException("The certificate signing request is not valid.")
        if not req.is_signature_valid:
            raise InvalidRequestException("The certificate signing request signature is not valid.")
        ca_key, ca_name = _signing_ca()
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(req.subject)
            .issuer_name(ca_name)
            .public_key(req.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365 * 30))
            .sign(ca_key, hashes.SHA256())
        )
        pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        # setAsActive arrives as the query string text "true"/"false"
        active = set_as_active is True or str(set_as_active).lower() == "true"
        return self.register_certificate(pem, ca_certificate_pem=None, set_as_active=active, status="INACTIVE")

    IoTBackend.create_certificate_from_csr = create_certificate_from_csr

    original_update_certificate = IoTBackend.update_certificate

    def update_certificate(self, certificate_id: str, new_status: str) -> None:
        if new_status in ("PENDING_TRANSFER", "PENDING_ACTIVATION"):
            raise InvalidRequestException(f"Certificate status cannot be set to {new_status}; it is used internally by AWS IoT.")
        original_update_certificate(self, certificate_id, new_status)

    IoTBackend.update_certificate = update_certificate

    original_set_default = IoTBackend.set_default_policy_version

    def set_default_policy_version(self, policy_name: str, version_id: str) -> None:
        policy = self.get_policy(policy_name)
        if not any(v.version_id == str(version_id) for v in policy.versions):
            raise ResourceNotFoundException(f"Policy version {version_id} of policy {policy_name} does not exist.")
        original_set_default(self, policy_name, str(version_id))

    IoTBackend.set_default_policy_version = set_default_policy_version

    original_update_role_alias = IoTBackend.update_role_alias

    def update_role_alias(self, role_alias_name: str, role_arn: str | None = None, credential_duration_seconds: int | None = None):
        ra = original_update_role_alias(self, role_alias_name, role_arn, credential_duration_seconds)
        ra.last_modified_date = utcnow()
        return ra

    IoTBackend.update_role_alias = update_role_alias

    original_create_thing_group = IoTBackend.create_thing_group

    def create_thing_group(self, thing_group_name: str, parent_group_name: str, thing_group_properties: dict[str, Any]):
        # Creating an existing group again with the same (possibly absent) properties returns it;
        # moto compared the stored {} with None and refused.
        return original_create_thing_group(self, thing_group_name, parent_group_name, thing_group_properties or {})

    IoTBackend.create_thing_group = create_thing_group


# ------------------------------------------------------------------------------------------------ Lambda

# Configuration members that make a new version when they change; per-version or volatile ones
# (ARN, Version, LastModified, RevisionId, State...) are not part of the comparison.
_VERSIONED_CONFIG = (
    "CodeSha256",
    "Description",
    "Handler",
    "MemorySize",
    "Role",
    "Runtime",
    "Timeout",
    "VpcConfig",
    "Layers",
    "Environment",
    "TracingConfig",
    "Architectures",
    "EphemeralStorage",
    "PackageType",
    "KMSKeyArn",
)


def _signature(fn: Any) -> str:
    cfg = fn.get_configuration()
    return json.dumps({k: cfg.get(k) for k in _VERSIONED_CONFIG}, sort_keys=True, default=str)


def patch_lambda() -> None:
    import copy

    from moto.awslambda.models import LambdaStorage

    def publish_version(self, name_or_arn: str, description: str = ""):
        function = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
        name = function.function_name
        if name not in self._functions or not self._functions[name]["latest"]:
            return None
        latest = self._functions[name]["latest"]
        signature = _signature(latest)
        versions = self._functions[name]["versions"]
        if versions and getattr(versions[-1], "ggp_signature", None) == signature:
            return versions[-1]
        fn = copy.copy(latest)
        fn.set_version(len(versions) + 1)
        fn.ggp_signature = signature
        if description:
            fn.description = description
        latest.code_or_config_updated = False
        versions.append(fn)
        self._arns[fn.function_arn] = fn
        return fn

    LambdaStorage.publish_version = publish_version


# ------------------------------------------------------------------------------------------------ IAM


def patch_iam_speed() -> None:
    """Keep AWS managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES) cheap across /moto-api/reset.

    moto builds an IAM backend per partition (six of them) on the first request of every account, each
    parsing the 1.5 MB managed-policy document, and builds them all once more inside reset just before
    throwing them away. The document is now parsed once per process, and the throw-away rebuild inside
    reset skips the managed policies. What a request sees is unchanged.
    """
    from moto.iam import models as iam_models

    parsed: dict[str, Any] = {}
    in_reset = threading.local()

    def _init_aws_policies(self):
        from moto.settings import load_iam_aws_managed_policies

        if not load_iam_aws_managed_policies() or getattr(in_reset, "active", False):
            return []
        if not parsed:
            parsed.update(json.loads(iam_models.aws_managed_policies_data))
        return [iam_models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, d) for name, d in parsed.items()]

    iam_models.IAMBackend._init_aws_policies = _init_aws_policies
    original_reset = iam_models.IAMBackend.reset

    def reset(self) -> None:
        in_reset.active = True
        try:
            original_reset(self)
        finally:
            in_reset.active = False

    iam_models.IAMBackend.reset = reset


def patch_all() -> None:
    patch_iot()
    patch_lambda()
    patch_iam_speed()
