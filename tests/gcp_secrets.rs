//! Secret Manager as the settings store and the API's credential store, against a fake of its
//! REST API and of the metadata server's token endpoint on loopback: what is read, what
//! counts as absent, rotated values written as versions (older ones destroyed), and the shared
//! token's lock as an etag-guarded label.
#![cfg(feature = "gcp")]

#[path = "support/http_stub.rs"]
mod http_stub;
#[path = "support/secret_manager.rs"]
mod secret_manager;

use std::time::Duration;

use psoxy::api::auth::shared::{CredentialStore, LockCreation};
use psoxy::api::gcp_store::SecretManagerCredentials;
use psoxy::settings::gcp::SecretManager;
use psoxy::settings::{Flags, SecretStore, Settings, StoreLocation};

const PROJECT: &str = "psoxy-test";

fn store() -> SecretManager {
    let fake = secret_manager::shared(PROJECT);
    SecretManager::new(&fake.stub.url(), PROJECT).expect("store")
}

fn location(instance: &str) -> StoreLocation {
    let (instance, shared) = (instance.to_owned(), "SHARED_".to_owned());
    StoreLocation::for_gcp(&move |name: &str| match name {
        "PATH_TO_INSTANCE_CONFIG" => Some(instance.clone()),
        "PATH_TO_SHARED_CONFIG" => Some(shared.clone()),
        _ => None,
    })
    .unwrap()
    .unwrap()
}

#[tokio::test]
async fn settings_come_from_the_instance_then_the_shared_namespace() {
    let fake = secret_manager::shared(PROJECT);
    fake.put("SHARED_PSOXY_SALT", "shared-salt");
    fake.put("READ_PSOXY_SALT", "instance-salt");
    fake.put("READ_RULES", "columnsToRedact: [a]");
    fake.put("SHARED_RULES", "ignored: the instance's wins");
    fake.put("READ_OUTPUT_BUCKET", "fill me");
    fake.put("SHARED_INPUT_BASE_PATH", "refused");
    fake.forbid("SHARED_INPUT_BASE_PATH");
    let store = store();
    let wanted = psoxy::bulk::bulk_settings();
    let settings = Settings::resolve(
        &wanted,
        &Flags::new(),
        &|name| (name == "OUTPUT_BASE_PATH").then(|| "from-env/".to_owned()),
        Some((&location("READ_"), &store as &dyn SecretStore)),
    )
    .await
    .expect("settings");
    let get = |name: &str| {
        let setting = wanted.iter().find(|s| s.name == name).unwrap();
        settings.get(setting).map(str::to_owned)
    };
    assert_eq!(get("PSOXY_SALT").as_deref(), Some("instance-salt"));
    assert_eq!(get("RULES").as_deref(), Some("columnsToRedact: [a]"));
    assert_eq!(get("OUTPUT_BASE_PATH").as_deref(), Some("from-env/"));
    assert_eq!(
        get("OUTPUT_BUCKET"),
        None,
        "a `fill me` placeholder is absent"
    );
    assert_eq!(get("INPUT_BASE_PATH"), None, "a refused secret is absent");
    let asked = fake
        .stub
        .requests()
        .iter()
        .filter(|r| r.uri.contains("/secrets/READ_"))
        .all(|r| r.header("authorization") == Some("Bearer fake-metadata-token"));
    assert!(asked, "every request carries the metadata server's token");
}

#[tokio::test]
async fn a_rotated_value_is_a_new_version_and_the_old_ones_are_destroyed() {
    let fake = secret_manager::shared(PROJECT);
    fake.put("ROTATE_REFRESH_TOKEN", "first");
    fake.put("ROTATE_REFRESH_TOKEN", "second");
    let credentials = SecretManagerCredentials::new(store(), location("ROTATE_"));
    assert_eq!(
        credentials.read("REFRESH_TOKEN").await.unwrap().as_deref(),
        Some("second")
    );
    credentials.write("REFRESH_TOKEN", "third").await.unwrap();
    assert_eq!(
        fake.latest("ROTATE_REFRESH_TOKEN").as_deref(),
        Some("third")
    );
    let state = fake.state.lock().unwrap();
    let versions = &state.secrets["ROTATE_REFRESH_TOKEN"].versions;
    let enabled: Vec<u32> = versions.iter().filter(|v| v.2).map(|v| v.0).collect();
    assert_eq!(enabled, [3], "one live version remains");
    assert!(versions.iter().all(|v| v.2 || v.1.is_empty()));
}

#[tokio::test]
async fn the_lock_is_a_label_set_by_one_instance_at_a_time() {
    let fake = secret_manager::shared(PROJECT);
    fake.put("LOCK_OAUTH_REFRESH_TOKEN", "fill me");
    let a = SecretManagerCredentials::new(store(), location("LOCK_"));
    let b = SecretManagerCredentials::new(store(), location("LOCK_"));
    let ours = format!(
        "locked_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let lock = "OAUTH_REFRESH_TOKEN_lock";
    assert_eq!(
        a.create_lock(lock, &ours).await.unwrap(),
        LockCreation::Created
    );
    assert_eq!(
        a.read_lock(lock).await.unwrap().as_deref(),
        Some(ours.as_str())
    );
    match b.create_lock(lock, "locked_1").await.unwrap() {
        LockCreation::Exists { age: Some(age) } => assert!(age < Duration::from_secs(60)),
        other => panic!("the second instance must find the lock: {other:?}"),
    }
    a.delete_lock(lock).await.unwrap();
    assert_eq!(a.read_lock(lock).await.unwrap(), None);
    assert_eq!(
        b.create_lock(lock, "locked_5").await.unwrap(),
        LockCreation::Created
    );
    // A lock left long ago is reported old, so the protocol breaks it.
    match a.create_lock(lock, "locked_9").await.unwrap() {
        LockCreation::Exists { age: Some(age) } => assert!(age > Duration::from_secs(120)),
        other => panic!("an old lock: {other:?}"),
    }
    b.delete_lock(lock).await.unwrap();
    let state = fake.state.lock().unwrap();
    assert!(state.secrets["LOCK_OAUTH_REFRESH_TOKEN"].labels.is_empty());
}

#[tokio::test]
async fn a_missing_lock_secret_is_an_error_that_names_it() {
    let credentials = SecretManagerCredentials::new(store(), location("NOLOCK_"));
    let e = credentials
        .create_lock("OAUTH_REFRESH_TOKEN_lock", "locked_1")
        .await
        .expect_err("no secret");
    assert!(e.to_string().contains("NOLOCK_OAUTH_REFRESH_TOKEN"), "{e}");
}
