"""Fixes to moto's IoT and Lambda backends where they differ from AWS in ways ggp depends on.

- IoT DescribeEndpoint: one host per account, region and endpoint type (moto randomises per call).
- IoT CreateCertificateFromCsr: the certificate carries the CSR's public key (moto made a new key,
  so the device's private key never matched its certificate).
- IoT UpdateCertificate: PENDING_TRANSFER / PENDING_ACTIVATION are refused, as documented.
- IoT SetDefaultPolicyVersion: an unknown version is ResourceNotFoundException (moto cleared the default).
- IoT UpdateRoleAlias: lastModifiedDate moves.
- IoT CreateThingGroup: repeating it without properties returns the existing group (moto refused).
- IoT tags: TagResource, UntagResource and ListTagsForResource (moto has none), and the `tags` of
  CreatePolicy, CreateRoleAlias and CreateThingGroup kept; deleting the resource drops its tags.
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
    # AWS IoT's certificate id is the SHA-256 fingerprint of the certificate's DER encoding (what
    # `openssl x509 -noout -fingerprint -sha256` prints, without colons), which tools such as ggp
    # compute to recognise a certificate from its PEM file; moto hashes the PEM text unless told.
    from moto.core.config import default_user_config

    default_user_config.setdefault("iot", {})["use_valid_cert"] = True

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
    _patch_iot_tags(iot_models, ResourceNotFoundException, InvalidRequestException)


def _iot_tags(backend: Any) -> dict[str, dict[str, str]]:
    if not hasattr(backend, "ggp_tags"):
        backend.ggp_tags = {}
    return backend.ggp_tags


def _patch_iot_tags(iot_models: Any, not_found: Any, invalid: Any) -> None:
    """Tags on IoT resources, as the IoT API model has them: a list of {Key, Value}.

    Resources ggp tags (policies, role aliases, thing groups) must exist to be tagged, as in AWS
    (ResourceNotFoundException otherwise); tags of other resource types are kept without that check.
    """
    from moto.core.responses import ActionResult, EmptyResult
    from moto.iot.responses import IoTResponse

    IoTBackend = iot_models.IoTBackend

    def _check(self: Any, arn: str) -> None:
        kind, _, name = arn.split(":", 5)[-1].partition("/")
        if kind == "policy" and name not in self.policies:
            raise not_found(f"Policy {name} does not exist")
        if kind == "rolealias" and name not in self.role_aliases:
            raise not_found(f"Role alias {name} does not exist")
        if kind == "thinggroup" and not any(g.thing_group_name == name for g in self.thing_groups.values()):
            raise not_found(f"Thing group {name} does not exist")

    def tag_resource(self: Any, arn: str, tags: list[dict[str, str]]) -> None:
        _check(self, arn)
        current = _iot_tags(self).setdefault(arn, {})
        for t in tags:
            current[t["Key"]] = t.get("Value", "")
        if len(current) > 50:
            raise invalid("A resource can have at most 50 tags.")

    def untag_resource(self: Any, arn: str, keys: list[str]) -> None:
        _check(self, arn)
        current = _iot_tags(self).get(arn, {})
        for k in keys:
            current.pop(k, None)

    def list_tags_for_resource(self: Any, arn: str) -> list[dict[str, str]]:
        _check(self, arn)
        return [{"Key": k, "Value": v} for k, v in sorted(_iot_tags(self).get(arn, {}).items())]

    IoTBackend.tag_resource = tag_resource
    IoTBackend.untag_resource = untag_resource
    IoTBackend.list_tags_for_resource = list_tags_for_resource

    def r_tag_resource(self: Any) -> Any:
        self.iot_backend.tag_resource(self._get_param("resourceArn"), self._get_param("tags") or [])
        return EmptyResult()

    def r_untag_resource(self: Any) -> Any:
        self.iot_backend.untag_resource(self._get_param("resourceArn"), self._get_param("tagKeys") or [])
        return EmptyResult()

    def r_list_tags_for_resource(self: Any) -> Any:
        arn = self._get_param("resourceArn") or (self.querystring.get("resourceArn") or [None])[0]
        return ActionResult({"tags": self.iot_backend.list_tags_for_resource(arn)})

    IoTResponse.tag_resource = r_tag_resource
    IoTResponse.untag_resource = r_untag_resource
    IoTResponse.list_tags_for_resource = r_list_tags_for_resource

    def with_tags(original: Any, arn_of: Any) -> Any:
        def create(self: Any) -> Any:
            out = original(self)
            tags = self._get_param("tags") or []
            if tags:
                _iot_tags(self.iot_backend)[arn_of(self)] = {t["Key"]: t.get("Value", "") for t in tags}
            return out

        return create

    IoTResponse.create_policy = with_tags(
        IoTResponse.create_policy, lambda r: r.iot_backend.get_policy(r._get_param("policyName")).arn
    )
    IoTResponse.create_role_alias = with_tags(
        IoTResponse.create_role_alias, lambda r: r.iot_backend.role_aliases[r._get_param("roleAlias")].arn
    )
    IoTResponse.create_thing_group = with_tags(
        IoTResponse.create_thing_group,
        lambda r: r.iot_backend.describe_thing_group(r._get_param("thingGroupName")).arn,
    )

    def dropping_tags(original: Any, arn_of: Any) -> Any:
        def delete(self: Any) -> Any:
            arn = arn_of(self)
            out = original(self)
            _iot_tags(self.iot_backend).pop(arn, None)
            return out

        return delete

    region_arn = lambda r, kind, key: f"arn:aws:iot:{r.region}:{r.current_account}:{kind}/{r._get_param(key)}"  # noqa: E731
    IoTResponse.delete_policy = dropping_tags(IoTResponse.delete_policy, lambda r: region_arn(r, "policy", "policyName"))
    IoTResponse.delete_role_alias = dropping_tags(IoTResponse.delete_role_alias, lambda r: region_arn(r, "rolealias", "roleAlias"))
    IoTResponse.delete_thing_group = dropping_tags(
        IoTResponse.delete_thing_group, lambda r: region_arn(r, "thinggroup", "thingGroupName")
    )


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
