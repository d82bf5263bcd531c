//! Settings from AWS SSM Parameter Store and Secrets Manager, served by a local moto on
//! 127.0.0.1: environment first, then the instance prefix, then the shared prefix; errors name
//! the parameter and never a value.

mod common;
#[path = "support/http_stub.rs"]
mod http_stub;
#[path = "support/moto.rs"]
mod moto;

use std::collections::HashMap;

use psoxy::bulk::lambda::Function;
use psoxy::settings::aws::AwsStore;
use psoxy::settings::{StoreKind, StoreLocation};

const RULES: &str = "columnsToPseudonymize: [EMPLOYEE_ID]\n";

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

/// A unique prefix per test, so tests sharing the server do not see each other's parameters.
fn prefix(test: &str, scope: &str) -> String {
    format!("/psoxy-test/{test}/{scope}/")
}

async fn put_parameter(client: &aws_sdk_ssm::Client, name: &str, value: &str) {
    client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put parameter {name}: {e:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameter_store_instance_prefix_then_shared_prefix_with_the_environment_first() {
    let sdk = moto::sdk_config();
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let (instance, shared) = (prefix("ssm", "hris"), prefix("ssm", "shared"));
    put_parameter(&ssm, &format!("{instance}PSOXY_SALT"), "instance-salt").await;
    put_parameter(&ssm, &format!("{instance}RULES"), RULES).await;
    put_parameter(&ssm, &format!("{shared}PSOXY_SALT"), "shared-salt").await;
    put_parameter(&ssm, &format!("{shared}OUTPUT_BUCKET"), "shared-bucket").await;
    put_parameter(&ssm, &format!("{shared}OUTPUT_BASE_PATH"), "from-ssm/").await;
    put_parameter(&ssm, &format!("{shared}EMAIL_DOMAIN_HANDLING"), "REDACT").await;

    let env = env(&[
        ("PATH_TO_INSTANCE_CONFIG", instance.as_str()),
        ("PATH_TO_SHARED_CONFIG", shared.as_str()),
        ("OUTPUT_BASE_PATH", "from-env/"),
    ]);
    let location = StoreLocation::from_lookup(&env).unwrap().unwrap();
    assert_eq!(location.kind, StoreKind::ParameterStore);
    let client = AwsStore::new(location.kind, &sdk, None);
    let processor = Function::processor(
        &env,
        Some((&location, &client as &dyn psoxy::settings::SecretStore)),
        1,
    )
    .await
    .unwrap();
    let s = processor.settings();
    assert_eq!(s.pseudonym.salt, "instance-salt", "instance before shared");
    assert_eq!(
        s.output_bucket, "shared-bucket",
        "shared when the instance lacks it"
    );
    assert_eq!(s.output_base_path, "from-env/", "environment first");
    assert_eq!(
        s.pseudonym.email_domain_handling,
        psoxy::pseudonym::DomainHandling::Redact
    );
    assert_eq!(s.rules_sha, psoxy::rules::sha256_hex(RULES.as_bytes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_when_asked_for() {
    let sdk = moto::sdk_config();
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let (instance, shared) = ("psoxy_sm_hris_", "psoxy_sm_shared_");
    for (name, value) in [
        (format!("{instance}PSOXY_SALT"), "sm-instance-salt"),
        (format!("{shared}RULES"), RULES),
        (format!("{shared}OUTPUT_BUCKET"), "sm-bucket"),
    ] {
        secrets
            .create_secret()
            .name(&name)
            .secret_string(value)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create secret {name}: {e:?}"));
    }
    let env = env(&[
        ("SECRETS_STORE", "AWS_SECRETS_MANAGER"),
        ("PATH_TO_INSTANCE_CONFIG", instance),
        ("PATH_TO_SHARED_CONFIG", shared),
    ]);
    let location = StoreLocation::from_lookup(&env).unwrap().unwrap();
    assert_eq!(location.kind, StoreKind::SecretsManager);
    let client = AwsStore::new(location.kind, &sdk, None);
    let processor = Function::processor(
        &env,
        Some((&location, &client as &dyn psoxy::settings::SecretStore)),
        1,
    )
    .await
    .unwrap();
    let s = processor.settings();
    assert_eq!(s.pseudonym.salt, "sm-instance-salt");
    assert_eq!(s.output_bucket, "sm-bucket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_invalid_remote_settings_are_named_without_their_values() {
    let sdk = moto::sdk_config();
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let instance = prefix("errors", "hris");
    put_parameter(&ssm, &format!("{instance}PSOXY_SALT"), "very-secret-salt").await;
    put_parameter(&ssm, &format!("{instance}OUTPUT_BUCKET"), "out").await;
    let env_pairs = [("PATH_TO_INSTANCE_CONFIG", instance.as_str())];
    let location = StoreLocation::from_lookup(&env(&env_pairs))
        .unwrap()
        .unwrap();
    let client = AwsStore::new(location.kind, &sdk, None);

    // RULES is nowhere.
    let err = Function::processor(
        &env(&env_pairs),
        Some((&location, &client as &dyn psoxy::settings::SecretStore)),
        1,
    )
    .await
    .err()
    .expect("RULES missing");
    let message = err.to_string();
    assert!(message.contains("RULES"), "{message}");
    assert!(!message.contains("very-secret-salt"), "{message}");

    // RULES that do not parse: named, and the salt is not in the message.
    put_parameter(
        &ssm,
        &format!("{instance}RULES"),
        "columnsToPseudonymise: [X]\n",
    )
    .await;
    let err = Function::processor(
        &env(&env_pairs),
        Some((&location, &client as &dyn psoxy::settings::SecretStore)),
        1,
    )
    .await
    .err()
    .expect("bad RULES");
    let message = err.to_string();
    assert!(
        message.contains("RULES") && message.contains("did you mean"),
        "{message}"
    );
    assert!(!message.contains("very-secret-salt"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_parameter_store_is_an_error_naming_the_parameters() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sdk = moto::sdk_config()
        .into_builder()
        .endpoint_url(format!("http://{closed}"))
        .build();
    let env = env(&[("PATH_TO_SHARED_CONFIG", "/nowhere/")]);
    let location = StoreLocation::from_lookup(&env).unwrap().unwrap();
    let client = AwsStore::new(location.kind, &sdk, None);
    let err = Function::processor(
        &env,
        Some((&location, &client as &dyn psoxy::settings::SecretStore)),
        1,
    )
    .await
    .err()
    .expect("unreachable store");
    let message = err.to_string();
    assert!(
        message.contains("/nowhere/PSOXY_SALT") && message.contains("SSM Parameter Store"),
        "{message}"
    );
}

/// `psoxy serve` reads its secrets from SSM under PATH_TO_INSTANCE_CONFIG like the function,
/// and writes a rotated refresh token back there (a SecureString).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_reads_its_secrets_from_ssm_and_writes_a_rotated_refresh_token_back() {
    use http_stub::{Recorded, Reply, Stub};

    let sdk = moto::sdk_config();
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let instance = prefix("api", "github");
    put_parameter(&ssm, &format!("{instance}PSOXY_SALT"), "api-salt").await;
    put_parameter(&ssm, &format!("{instance}PSOXY_ENCRYPTION_KEY"), "api-key").await;
    put_parameter(
        &ssm,
        &format!("{instance}CLIENT_SECRET"),
        "client-secret-ssm",
    )
    .await;
    put_parameter(&ssm, &format!("{instance}REFRESH_TOKEN"), "refresh-1").await;
    // Terraform's placeholder for a credential not filled in yet: read as unset.
    put_parameter(
        &ssm,
        &format!("{instance}ACCESS_TOKEN"),
        "PLACEHOLDER: fill me",
    )
    .await;

    let token = Stub::start(|r: &Recorded| {
        assert!(r.body.contains("refresh_token=refresh-1"), "{}", r.body);
        assert!(
            r.body.contains("client_secret=client-secret-ssm"),
            "{}",
            r.body
        );
        Reply::json(
            200,
            r#"{"access_token":"tok-ssm","expires_in":3600,"refresh_token":"refresh-2"}"#,
        )
    })
    .await;
    let source = Stub::start(|_| Reply::json(200, "[]")).await;
    let mut child = common::psoxy()
        .args([
            "serve",
            "--no-caller-auth",
            "--listen",
            "127.0.0.1:0",
            "--rules",
        ])
        .arg(common::repo("transforms/api/github.yaml"))
        .args(["--target", &source.url()])
        .env("PATH_TO_INSTANCE_CONFIG", &instance)
        .env("AWS_ENDPOINT_URL_SSM", moto::endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SOURCE_AUTH_STRATEGY", "oauth2_refresh_token")
        .env("TOKEN_ENDPOINT", format!("{}/token", token.url()))
        .env("CLIENT_ID", "client-1")
        .env_remove("PSOXY_SALT")
        .env_remove("PSOXY_ENCRYPTION_KEY")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (_, addr, _stderr) = common::serve_started(&mut child);
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{addr}/orgs/acme-corp/members"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let salt_sha = response.headers()["x-psoxy-salt-sha"]
        .to_str()
        .unwrap()
        .to_owned();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        salt_sha,
        psoxy::pseudonym::salt_sha("api-salt"),
        "the salt came from SSM"
    );
    assert_eq!(
        source.requests()[0].header("authorization"),
        Some("Bearer tok-ssm")
    );
    let stored = ssm
        .get_parameter()
        .name(format!("{instance}REFRESH_TOKEN"))
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let parameter = stored.parameter().unwrap();
    assert_eq!(parameter.value(), Some("refresh-2"));
    assert_eq!(
        parameter.r#type(),
        Some(&aws_sdk_ssm::types::ParameterType::SecureString)
    );

    // With the bearer strategy, the placeholder is no token: the proxy refuses to start and
    // says which setting is missing (never its value).
    let out = common::psoxy()
        .args([
            "serve",
            "--no-caller-auth",
            "--listen",
            "127.0.0.1:0",
            "--rules",
        ])
        .arg(common::repo("transforms/api/github.yaml"))
        .args(["--target", &source.url()])
        .env("PATH_TO_INSTANCE_CONFIG", &instance)
        .env("AWS_ENDPOINT_URL_SSM", moto::endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SOURCE_AUTH_STRATEGY", "bearer")
        .env_remove("PSOXY_SALT")
        .env_remove("PSOXY_ENCRYPTION_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("ACCESS_TOKEN is required"), "{stderr}");
    assert!(
        !stderr.contains("fill me") && !stderr.contains("api-salt"),
        "{stderr}"
    );
}
