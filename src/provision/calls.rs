//! The clients provisioning uses, all built from one `SdkConfig`, and the recorder every one of
//! them carries: an SDK interceptor that notes each operation (service, name, HTTP method) once per
//! call, so a run can say how many API calls it made and how many of them changed something.
//!
//! Not for: credentials, region or endpoint resolution (that is [`crate::aws`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;
use aws_types::SdkConfig;
use serde::Serialize;

/// One API call as the SDK sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    pub service: String,
    pub operation: String,
    pub method: String,
}

impl Call {
    /// Everything that is not a Get/List/Describe (or an S3 Head, a CloudWatch Logs
    /// FilterLogEvents) changes something.
    pub fn is_mutating(&self) -> bool {
        // IoT TestAuthorization and IAM SimulatePrincipalPolicy only evaluate policies (the
        // preflight asks them); they change nothing in the account.
        ![
            "Get",
            "List",
            "Describe",
            "Head",
            "FilterLogEvents",
            "TestAuthorization",
            "SimulatePrincipalPolicy",
        ]
        .iter()
        .any(|p| self.operation.starts_with(p))
    }
}

/// Counts of a run's API calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallStats {
    pub total: usize,
    pub mutating: usize,
    /// `Service.Operation` → count, for the mutating calls only.
    pub mutating_operations: BTreeMap<String, usize>,
}

/// An SDK interceptor that records every operation, once per call (not per retry attempt).
#[derive(Debug, Clone, Default)]
pub struct CallRecorder {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl CallRecorder {
    pub fn new() -> CallRecorder {
        CallRecorder::default()
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The mutating calls so far, as `Service.Operation`.
    pub fn mutating(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(Call::is_mutating)
            .map(|c| format!("{}.{}", c.service, c.operation))
            .collect()
    }

    pub fn stats(&self) -> CallStats {
        let calls = self.calls();
        let mut s = CallStats {
            total: calls.len(),
            ..CallStats::default()
        };
        for c in calls.iter().filter(|c| c.is_mutating()) {
            s.mutating += 1;
            *s.mutating_operations
                .entry(format!("{}.{}", c.service, c.operation))
                .or_default() += 1;
        }
        s
    }

    /// Forget what was recorded (between two runs sharing the clients).
    pub fn clear(&self) {
        if let Ok(mut c) = self.calls.lock() {
            c.clear();
        }
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "ggp-call-recorder"
    }

    // Serialization happens once per call, before the retry loop.
    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_string(), m.name().to_string()))
            .unwrap_or_else(|| ("unknown".into(), "unknown".into()));
        let call = Call {
            service,
            operation,
            method: context.request().method().to_string(),
        };
        if let Ok(mut c) = self.calls.lock() {
            c.push(call);
        }
        Ok(())
    }
}

/// The retry policy of a real run: the SDK's standard mode (exponential backoff with jitter on
/// throttling and transient errors), with more attempts than its default of 3, yet a persistent
/// failure still surfaces within about ten seconds.
pub fn default_retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(std::time::Duration::from_millis(250))
        .with_max_backoff(std::time::Duration::from_secs(8))
}

/// The clients of a provisioning run, each with the same [`CallRecorder`].
#[derive(Debug, Clone)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub iot: aws_sdk_iot::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub s3: aws_sdk_s3::Client,
    pub greengrass: aws_sdk_greengrass::Client,
    pub greengrassv2: aws_sdk_greengrassv2::Client,
    /// `ggp logs` and `ggp diagnose`.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// The secrets the functions read, resolved to their full ARNs (DescribeSecret).
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    recorder: CallRecorder,
}

impl Clients {
    /// Clients from `sdk`; `retry` replaces the config's retry policy when given. S3 uses
    /// path-style addressing when `s3_path_style` (emulators need it).
    pub fn new(sdk: &SdkConfig, retry: Option<RetryConfig>, s3_path_style: bool) -> Clients {
        let recorder = CallRecorder::new();
        macro_rules! client {
            ($krate:ident) => {{
                let mut b = $krate::config::Builder::from(sdk).interceptor(recorder.clone());
                if let Some(r) = &retry {
                    b = b.retry_config(r.clone());
                }
                $krate::Client::from_conf(b.build())
            }};
        }
        let s3 = {
            let mut b = aws_sdk_s3::config::Builder::from(sdk)
                .interceptor(recorder.clone())
                .force_path_style(s3_path_style);
            if let Some(r) = &retry {
                b = b.retry_config(r.clone());
            }
            aws_sdk_s3::Client::from_conf(b.build())
        };
        Clients {
            iam: client!(aws_sdk_iam),
            iot: client!(aws_sdk_iot),
            lambda: client!(aws_sdk_lambda),
            s3,
            greengrass: client!(aws_sdk_greengrass),
            greengrassv2: client!(aws_sdk_greengrassv2),
            logs: client!(aws_sdk_cloudwatchlogs),
            secretsmanager: client!(aws_sdk_secretsmanager),
            recorder,
        }
    }

    /// Clients for a connected [`crate::aws::Aws`], with [`default_retry`].
    pub fn for_aws(aws: &crate::aws::Aws) -> Clients {
        Clients::new(
            aws.sdk_config(),
            Some(default_retry()),
            aws.endpoint(crate::aws::Service::S3).is_some(),
        )
    }

    pub fn recorder(&self) -> &CallRecorder {
        &self.recorder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_mutating() {
        let c = |op: &str| Call {
            service: "x".into(),
            operation: op.into(),
            method: "POST".into(),
        };
        for op in [
            "GetRole",
            "ListGroups",
            "DescribeThing",
            "HeadObject",
            "GetDeploymentStatus",
        ] {
            assert!(!c(op).is_mutating(), "{op}");
        }
        for op in [
            "CreateRole",
            "AttachPolicy",
            "PublishVersion",
            "UpdateAlias",
            "TagResource",
            "ResetDeployments",
        ] {
            assert!(c(op).is_mutating(), "{op}");
        }
    }
}
