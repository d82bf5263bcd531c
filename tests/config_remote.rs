//! Settings from AWS SSM Parameter Store and Secrets Manager, served by a local moto on
//! 127.0.0.1: environment first, then the instance prefix, then the shared prefix; errors name
//! the parameter and never a value.
#![cfg(feature = "aws")]

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

/// `USE_SHARED_TOKEN` (SPEC-API-PARITY §4.5): four cold proxy processes find an expired shared
/// token in SSM at once. Exactly one token request is made, all four call the source with the
/// same token, the lock parameter is gone afterwards, and the rotated refresh token is never
/// lost: the token endpoint refuses any but the latest one. Twenty times over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_instances_share_one_token_refreshed_under_the_lock_and_lose_no_rotated_refresh_token()
{
    use std::sync::{Arc, Mutex};

    use http_stub::{Recorded, Reply, Stub};

    const ROUNDS: usize = 20;
    const INSTANCES: usize = 4;
    let sdk = moto::sdk_config();
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let instance = prefix("shared-token", "zoom");
    put_parameter(&ssm, &format!("{instance}PSOXY_SALT"), "api-salt").await;
    put_parameter(&ssm, &format!("{instance}PSOXY_ENCRYPTION_KEY"), "api-key").await;
    put_parameter(&ssm, &format!("{instance}CLIENT_SECRET"), "secret-1").await;
    put_parameter(&ssm, &format!("{instance}REFRESH_TOKEN"), "refresh-0").await;

    // The token endpoint rotates the refresh token at every use and accepts only the latest.
    let latest = Arc::new(Mutex::new(0usize));
    let issued = latest.clone();
    let token = Stub::start(move |r: &Recorded| {
        let mut n = issued.lock().unwrap();
        if !r.body.contains(&format!("refresh_token=refresh-{n}&")) {
            return Reply::json(400, r#"{"error":"invalid_grant"}"#);
        }
        *n += 1;
        Reply::json(
            200,
            format!(
                r#"{{"access_token":"tok-{n}","expires_in":3600,"refresh_token":"refresh-{n}"}}"#
            ),
        )
    })
    .await;
    let source = Stub::start(|_| Reply::json(200, "[]")).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    for round in 0..ROUNDS {
        // An expired shared token, as an instance left it an hour ago.
        put_parameter(
            &ssm,
            &format!("{instance}ACCESS_TOKEN"),
            r#"{"token":"tok-old","expirationDate":1639526410000}"#,
        )
        .await;
        let before_tokens = token.requests().len();
        let before_source = source.requests().len();
        let mut children = Vec::new();
        for _ in 0..INSTANCES {
            children.push(shared_token_proxy(&instance, &source.url(), &token.url()));
        }
        let mut addrs = Vec::new();
        let mut logs = Vec::new();
        for child in &mut children {
            let (_, addr, stderr) = common::serve_started(child);
            addrs.push(addr);
            // Keep reading the log, so the child never blocks on a full pipe.
            logs.push(std::thread::spawn(move || {
                use std::io::Read;
                let mut text = String::new();
                let mut stderr = stderr;
                let _ = stderr.read_to_string(&mut text);
                text
            }));
        }
        let mut calls = tokio::task::JoinSet::new();
        for addr in &addrs {
            let http = http.clone();
            let url = format!("http://{addr}/orgs/acme-corp/members");
            calls.spawn(async move { http.get(url).send().await.unwrap().status().as_u16() });
        }
        let statuses = calls.join_all().await;
        for child in &mut children {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        let logs: Vec<String> = logs.into_iter().map(|l| l.join().unwrap()).collect();
        assert_eq!(
            statuses,
            vec![200; INSTANCES],
            "round {round}:\n{}",
            logs.join("\n")
        );
        assert_eq!(
            token.requests().len() - before_tokens,
            1,
            "round {round}: one token request for all instances"
        );
        let n = *latest.lock().unwrap();
        let used: Vec<Option<String>> = source.requests()[before_source..]
            .iter()
            .map(|r| r.header("authorization").map(str::to_owned))
            .collect();
        assert_eq!(
            used,
            vec![Some(format!("Bearer tok-{n}")); INSTANCES],
            "round {round}"
        );
        let lock = ssm
            .get_parameter()
            .name(format!("{instance}OAUTH_REFRESH_TOKEN_lock"))
            .send()
            .await;
        assert!(lock.is_err(), "round {round}: the lock is released");
    }
    assert_eq!(*latest.lock().unwrap(), ROUNDS);
    let stored = |name: &'static str| {
        let ssm = ssm.clone();
        let name = format!("{instance}{name}");
        async move {
            ssm.get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .unwrap()
                .parameter()
                .unwrap()
                .value()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(stored("REFRESH_TOKEN").await, format!("refresh-{ROUNDS}"));
    let shared: serde_json::Value = serde_json::from_str(&stored("ACCESS_TOKEN").await).unwrap();
    assert_eq!(shared["token"], format!("tok-{ROUNDS}"));
    assert!(shared["expirationDate"].as_i64().unwrap() > 1_700_000_000_000);
}

/// A `psoxy serve` of a refresh-token source sharing its access token through the SSM
/// namespace `instance` (lock pauses of 300 ms).
fn shared_token_proxy(instance: &str, source: &str, token: &str) -> std::process::Child {
    common::psoxy()
        .args(["serve", "--no-caller-auth", "--listen", "127.0.0.1:0"])
        .arg("--rules")
        .arg(common::repo("transforms/api/github.yaml"))
        .args(["--target", source])
        .env("PATH_TO_INSTANCE_CONFIG", instance)
        .env("AWS_ENDPOINT_URL_SSM", moto::endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token")
        .env("GRANT_TYPE", "refresh_token")
        .env("REFRESH_ENDPOINT", format!("{token}/token"))
        .env("CLIENT_ID", "client-1")
        .env("USE_SHARED_TOKEN", "TRUE")
        .env("TOKEN_LOCK_WAIT_MS", "300")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// A lock another instance holds through every attempt: the request is answered 503 with
/// `Retry-After`, and no token is requested. A fresh shared token is used without the lock;
/// one the source refuses is replaced for every instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_is_a_503_a_fresh_shared_token_is_used_and_a_refused_one_replaced() {
    use http_stub::{Reply, Stub};

    let sdk = moto::sdk_config();
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let instance = prefix("shared-token", "busy");
    put_parameter(&ssm, &format!("{instance}PSOXY_SALT"), "api-salt").await;
    put_parameter(&ssm, &format!("{instance}PSOXY_ENCRYPTION_KEY"), "api-key").await;
    put_parameter(&ssm, &format!("{instance}CLIENT_SECRET"), "secret-1").await;
    put_parameter(&ssm, &format!("{instance}REFRESH_TOKEN"), "refresh-0").await;
    put_parameter(
        &ssm,
        &format!("{instance}ACCESS_TOKEN"),
        r#"{"token":"tok-old","expirationDate":null}"#,
    )
    .await;
    ssm.put_parameter()
        .name(format!("{instance}OAUTH_REFRESH_TOKEN_lock"))
        .value("locked_1")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let token = Stub::start(|_| Reply::json(200, r#"{"access_token":"tok-new"}"#)).await;
    // Once revoked, the source refuses the shared token.
    let revoked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refusing = revoked.clone();
    let source = Stub::start(move |r| {
        if refusing.load(std::sync::atomic::Ordering::SeqCst)
            && r.header("authorization") == Some("Bearer tok-shared")
        {
            return Reply::json(401, "{}");
        }
        Reply::json(200, "[]")
    })
    .await;
    let mut child = shared_token_proxy(&instance, &source.url(), &token.url());
    let (_, addr, _stderr) = common::serve_started(&mut child);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{addr}/orgs/acme-corp/members");
    let busy = http.get(&url).send().await.unwrap();
    let status = busy.status().as_u16();
    let retry_after = busy.headers().get("retry-after").cloned();
    let code = busy.headers().get("x-psoxy-error").cloned();
    assert_eq!(status, 503);
    assert_eq!(retry_after.unwrap(), "5");
    assert_eq!(code.unwrap(), "TOKEN_REFRESH_IN_PROGRESS");
    assert!(
        token.requests().is_empty(),
        "no token request without the lock"
    );
    assert!(source.requests().is_empty());

    // The instance holding the lock stores a fresh token: it is used, the lock untouched.
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 3_600_000;
    put_parameter(
        &ssm,
        &format!("{instance}ACCESS_TOKEN"),
        &format!(r#"{{"token":"tok-shared","expirationDate":{expires}}}"#),
    )
    .await;
    let ok = http.get(&url).send().await.unwrap().status().as_u16();
    assert_eq!(ok, 200);
    assert_eq!(
        source.requests()[0].header("authorization"),
        Some("Bearer tok-shared")
    );
    assert!(token.requests().is_empty());

    // The source refuses the shared token (the other instance released its lock): though
    // its date says it is fresh, this instance replaces it, under the lock, for everyone.
    ssm.delete_parameter()
        .name(format!("{instance}OAUTH_REFRESH_TOKEN_lock"))
        .send()
        .await
        .unwrap();
    revoked.store(true, std::sync::atomic::Ordering::SeqCst);
    let retried = http.get(&url).send().await.unwrap().status().as_u16();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(retried, 200);
    let used: Vec<_> = source.requests()[1..]
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        used,
        [
            Some("Bearer tok-shared".to_owned()),
            Some("Bearer tok-new".to_owned())
        ]
    );
    assert_eq!(token.requests().len(), 1);
    let stored = ssm
        .get_parameter()
        .name(format!("{instance}ACCESS_TOKEN"))
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert!(stored
        .parameter()
        .unwrap()
        .value()
        .unwrap()
        .starts_with(r#"{"token":"tok-new","expirationDate":"#));
}

/// Psoxy's default instance namespace: a function named `psoxy-ns-default` reads
/// `PSOXY_NS_DEFAULT_*` when `PATH_TO_INSTANCE_CONFIG` is not set, and Psoxy's `fill me`
/// placeholder there counts as absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_namespace_defaults_to_the_function_name() {
    use http_stub::{Reply, Stub};

    let sdk = moto::sdk_config();
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    put_parameter(&ssm, "PSOXY_NS_DEFAULT_PSOXY_SALT", "ns-salt").await;
    put_parameter(&ssm, "PSOXY_NS_DEFAULT_PSOXY_ENCRYPTION_KEY", "ns-key").await;
    put_parameter(&ssm, "PSOXY_NS_DEFAULT_ACCESS_TOKEN", "tok-ns").await;
    put_parameter(&ssm, "PSOXY_NS_DEFAULT_USER_AGENT", "fill me").await;
    let source = Stub::start(|_| Reply::json(200, "[]")).await;
    let mut child = common::psoxy()
        .args(["serve", "--no-caller-auth", "--listen", "127.0.0.1:0"])
        .arg("--rules")
        .arg(common::repo("transforms/api/github.yaml"))
        .args(["--target", &source.url()])
        .env("AWS_LAMBDA_FUNCTION_NAME", "psoxy-ns-default")
        .env("AWS_ENDPOINT_URL_SSM", moto::endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_access_token")
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
    let salt_sha = response.headers()["x-psoxy-salt-sha"].clone();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200);
    assert_eq!(salt_sha, psoxy::pseudonym::salt_sha("ns-salt").as_str());
    let request = &source.requests()[0];
    assert_eq!(request.header("authorization"), Some("Bearer tok-ns"));
    assert!(
        request
            .header("user-agent")
            .is_some_and(|ua| !ua.contains("fill me")),
        "{:?}",
        request.header("user-agent")
    );
}

/// A `psoxy serve` of Microsoft Graph with `GRANT_TYPE=workload_identity_federation`, its
/// assertion source given by `extra`, AWS pointed at moto.
fn federated_proxy(source: &str, token: &str, extra: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = common::psoxy();
    cmd.args(["serve", "--no-caller-auth", "--listen", "127.0.0.1:0"])
        .arg("--rules")
        .arg(common::repo("transforms/api/msft-calendar.yaml"))
        .args(["--target", source])
        .env("PSOXY_SALT", "salt")
        .env("PSOXY_ENCRYPTION_KEY", "key")
        .env("AWS_ENDPOINT_URL", moto::endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token")
        .env("GRANT_TYPE", "workload_identity_federation")
        .env(
            "REFRESH_ENDPOINT",
            format!("{token}/tenant-1/oauth2/v2.0/token"),
        )
        .env("CLIENT_ID", "entra-app-1")
        .env("TOKEN_SCOPE", "https://graph.microsoft.com/.default")
        .stderr(std::process::Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// The token request of workload identity federation: the assertion as `client_assertion`.
fn check_federated_token_request(r: &http_stub::Recorded) -> Option<String> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(r.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(r.method, "POST");
    assert_eq!(r.uri, "/tenant-1/oauth2/v2.0/token");
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], "entra-app-1");
    assert_eq!(form["scope"], "https://graph.microsoft.com/.default");
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    form.get("client_assertion").cloned()
}

/// Microsoft workload identity on AWS, as Psoxy's Terraform sets it up: the function's
/// Cognito developer identity (`IDENTITY_POOL_ID`, `IDENTITY_ID`, `DEVELOPER_NAME_ID`)
/// gives the OpenID token sent to Entra as the client assertion. Cognito is moto's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_federation_on_aws_takes_its_assertion_from_a_cognito_developer_identity()
{
    use http_stub::{Recorded, Reply, Stub};

    let cognito = aws_sdk_cognitoidentity::Client::new(&moto::sdk_config());
    let pool = cognito
        .create_identity_pool()
        .identity_pool_name("psoxy_msft")
        .allow_unauthenticated_identities(false)
        .developer_provider_name("psoxy-msft-teams")
        .send()
        .await
        .unwrap();
    let pool_id = pool.identity_pool_id().to_owned();
    // Terraform's one-time step: the identity of the login `developer=client id`.
    let identity = cognito
        .get_open_id_token_for_developer_identity()
        .identity_pool_id(&pool_id)
        .logins("psoxy-msft-teams", "entra-app-1")
        .send()
        .await
        .unwrap();
    let identity_id = identity.identity_id().unwrap().to_owned();

    let assertions = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = assertions.clone();
    let token = Stub::start(move |r: &Recorded| {
        seen.lock().unwrap().push(check_federated_token_request(r));
        Reply::json(200, r#"{"access_token":"graph-token","expires_in":3599}"#)
    })
    .await;
    let source = Stub::start(|_| Reply::json(200, r#"{"value":[]}"#)).await;
    let mut child = federated_proxy(
        &source.url(),
        &token.url(),
        &[
            ("IDENTITY_POOL_ID", &pool_id),
            ("IDENTITY_ID", &identity_id),
            ("DEVELOPER_NAME_ID", "psoxy-msft-teams"),
        ],
    );
    let (_, addr, _stderr) = common::serve_started(&mut child);
    let status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{addr}/v1.0/users"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200);
    let assertions = assertions.lock().unwrap().clone();
    assert_eq!(assertions.len(), 1);
    // moto's OpenID tokens are random `region:guid` strings.
    let assertion = assertions[0].clone().expect("a client assertion");
    assert!(assertion.starts_with("us-east-1:"), "{assertion}");
    assert_eq!(
        source.requests()[0].header("authorization"),
        Some("Bearer graph-token")
    );
}

/// Microsoft workload identity on GCP (`AUDIENCE`): the metadata server's ID token for that
/// audience is the client assertion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_federation_on_gcp_takes_its_assertion_from_the_metadata_server() {
    use http_stub::{Recorded, Reply, Stub};

    let metadata = Stub::start(|r: &Recorded| {
        assert_eq!(
            r.uri,
            "/computeMetadata/v1/instance/service-accounts/default/identity?audience=api%3A%2F%2FAzureADTokenExchange"
        );
        assert_eq!(r.header("metadata-flavor"), Some("Google"));
        Reply::json(200, "eyJhbGciOiJSUzI1NiJ9.gcp-identity.sig")
    })
    .await;
    let token = Stub::start(|r: &Recorded| {
        assert_eq!(
            check_federated_token_request(r).as_deref(),
            Some("eyJhbGciOiJSUzI1NiJ9.gcp-identity.sig")
        );
        Reply::json(200, r#"{"access_token":"graph-token-gcp"}"#)
    })
    .await;
    let source = Stub::start(|_| Reply::json(200, r#"{"value":[]}"#)).await;
    let host = metadata.url().trim_start_matches("http://").to_owned();
    let mut child = federated_proxy(
        &source.url(),
        &token.url(),
        &[
            ("AUDIENCE", "api://AzureADTokenExchange"),
            ("GCE_METADATA_HOST", &host),
        ],
    );
    let (_, addr, _stderr) = common::serve_started(&mut child);
    let status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{addr}/v1.0/users"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200);
    assert_eq!(metadata.requests().len(), 1);
    assert_eq!(
        source.requests()[0].header("authorization"),
        Some("Bearer graph-token-gcp")
    );
}

/// A namespace the function may not read (SSM answers AccessDeniedException) holds none of
/// its settings, as in Psoxy; the environment's values are used. Any other refusal is an
/// error naming the parameters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_parameters_are_absent_other_refusals_are_errors() {
    use http_stub::{Reply, Stub};

    let denied = Stub::start(|_| {
        Reply::json(
            400,
            r#"{"__type":"AccessDeniedException","message":"not authorized to perform ssm:GetParameters"}"#,
        )
    })
    .await;
    let sdk = moto::sdk_config()
        .into_builder()
        .endpoint_url(denied.url())
        .build();
    let env = env(&[
        ("PATH_TO_INSTANCE_CONFIG", "/denied/"),
        ("PSOXY_SALT", "env-salt"),
        ("RULES", RULES),
        ("OUTPUT_BUCKET", "out"),
    ]);
    let location = StoreLocation::from_lookup(&env).unwrap().unwrap();
    let client = AwsStore::new(location.kind, &sdk, None);
    let processor = Function::processor(
        &env,
        Some((&location, &client as &dyn psoxy::settings::SecretStore)),
        1,
    )
    .await
    .unwrap();
    assert_eq!(processor.settings().pseudonym.salt, "env-salt");
    assert!(!denied.requests().is_empty(), "the store was asked");

    let refused = Stub::start(|_| {
        Reply::json(
            400,
            r#"{"__type":"InvalidKeyId","message":"the key is disabled"}"#,
        )
    })
    .await;
    let sdk = moto::sdk_config()
        .into_builder()
        .endpoint_url(refused.url())
        .build();
    let client = AwsStore::new(location.kind, &sdk, None);
    let message = Function::processor(
        &env,
        Some((&location, &client as &dyn psoxy::settings::SecretStore)),
        1,
    )
    .await
    .err()
    .expect("a refusal other than AccessDenied")
    .to_string();
    assert!(
        message.contains("/denied/") && message.contains("InvalidKeyId"),
        "{message}"
    );
}
