//! Psoxy's shared access token (`USE_SHARED_TOKEN`): instances of one connector keep a single
//! access token in the secret store (`ACCESS_TOKEN` in the instance namespace, the JSON
//! `{"token":"...","expirationDate":<epoch ms>}`), and refresh it under a lock parameter
//! (`OAUTH_REFRESH_TOKEN_lock`), so a source that allows one live token, or rotates its refresh
//! token at every use, sees one token request however many instances run.
//!
//! The lock protocol is Psoxy's (SPEC-API-PARITY §4.5): create the lock parameter only if it
//! is absent, wait a moment and read it back (two creators racing on a just-deleted lock), break
//! a lock older than two minutes, hold it a little after the refresh (the store is eventually
//! consistent) and retry up to three times with growing pauses. Before each attempt the shared
//! token is read again: the instance holding the lock has usually stored a fresh one by then.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::settings::remote::{RemoteError, StoreFuture};

/// The setting holding the shared token (instance namespace).
pub const SHARED_TOKEN_SETTING: &str = "ACCESS_TOKEN";

/// The lock parameter's setting name (Psoxy's lock id `OAUTH_REFRESH_TOKEN` + `_lock`).
pub const LOCK_SETTING: &str = "OAUTH_REFRESH_TOKEN_lock";

/// A lock older than this was left by an instance that died holding it: it is broken.
pub const LOCK_STALE_AFTER: Duration = Duration::from_secs(120);

/// How many times the lock is tried before the request fails (503, `Retry-After`).
pub const LOCK_ATTEMPTS: u32 = 3;

/// A shared token with less than this left is not taken from the store (Psoxy's least
/// refresh margin).
pub const MIN_REMAINING: Duration = Duration::from_secs(60);

/// The shared token as stored: Psoxy's `AccessTokenDto` JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedToken {
    /// The access token.
    pub token: String,
    /// When it expires, in epoch milliseconds (`null`: unknown, which counts as expired).
    #[serde(rename = "expirationDate")]
    pub expiration_date: Option<i64>,
}

impl SharedToken {
    /// A token expiring `lifetime` from `now`.
    pub fn new(token: String, now: SystemTime, lifetime: Duration) -> SharedToken {
        let expires = now + lifetime;
        let millis = expires
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        SharedToken {
            token,
            expiration_date: Some(millis),
        }
    }

    /// Reads the stored JSON; anything else (a placeholder, another format) is no token.
    pub fn parse(text: &str) -> Option<SharedToken> {
        serde_json::from_str::<SharedToken>(text.trim())
            .ok()
            .filter(|t| !t.token.is_empty())
    }

    /// The compact JSON stored.
    pub fn to_json(&self) -> String {
        serde_json::json!({"token": self.token, "expirationDate": self.expiration_date}).to_string()
    }

    /// How long it is still valid at `now` (`None`: expired, or no date).
    pub fn remaining(&self, now: SystemTime) -> Option<Duration> {
        let expires =
            UNIX_EPOCH + Duration::from_millis(u64::try_from(self.expiration_date?).ok()?);
        expires.duration_since(now).ok().filter(|d| !d.is_zero())
    }
}

/// What creating the lock parameter found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockCreation {
    /// The parameter did not exist and now holds our value.
    Created,
    /// It exists; `age`: since it was last written, when the store says.
    Exists {
        /// Time since the lock was taken.
        age: Option<Duration>,
    },
}

/// The store operations the shared token and its lock need. Names are setting names; the
/// store puts them in the instance namespace.
pub trait CredentialStore: Send + Sync {
    /// Overwrites the secret `name` (a rotated refresh token, the shared token).
    fn write<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, ()>;
    /// The current value of `name`, uncached; `None` when absent or a placeholder.
    fn read<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<String>>;
    /// Creates the lock parameter `name` holding `value`, only if it does not exist.
    fn create_lock<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, LockCreation>;
    /// The lock parameter's value, `None` when absent.
    fn read_lock<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<String>>;
    /// Deletes the lock parameter (absent: done).
    fn delete_lock<'a>(&'a self, name: &'a str) -> StoreFuture<'a, ()>;
}

/// The pauses of the lock protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockTiming {
    /// How long the lock is kept after a refresh, before it is released (Psoxy: 2 s).
    pub hold: Duration,
    /// Base pause after a failed attempt, times the attempt number (Psoxy: 4 s).
    pub retry: Duration,
}

impl Default for LockTiming {
    fn default() -> Self {
        LockTiming {
            hold: Duration::from_secs(2),
            retry: Duration::from_secs(4),
        }
    }
}

/// The shared token of one connector, in its store.
#[derive(Clone)]
pub struct SharedTokens {
    store: Arc<dyn CredentialStore>,
    timing: LockTiming,
}

/// Random milliseconds in `0..bound`.
fn random_millis(bound: u64) -> Duration {
    use rand::RngCore;
    Duration::from_millis(rand::rngs::OsRng.next_u64() % bound.max(1))
}

impl SharedTokens {
    /// The shared token in `store`, refreshed with `timing`.
    pub fn new(store: Arc<dyn CredentialStore>, timing: LockTiming) -> SharedTokens {
        SharedTokens { store, timing }
    }

    /// The pauses of the lock protocol.
    pub fn timing(&self) -> LockTiming {
        self.timing
    }

    /// The stored token, when there is one that parses.
    pub async fn load(&self) -> Result<Option<SharedToken>, RemoteError> {
        Ok(self
            .store
            .read(SHARED_TOKEN_SETTING)
            .await?
            .as_deref()
            .and_then(SharedToken::parse))
    }

    /// The stored token when it can be used: not `replacing` (the token being refreshed or
    /// refused), with more than [`MIN_REMAINING`] left. Returns it with its time left.
    pub async fn fresh(
        &self,
        replacing: Option<&str>,
    ) -> Result<Option<(SharedToken, Duration)>, RemoteError> {
        let Some(token) = self.load().await? else {
            return Ok(None);
        };
        if replacing == Some(token.token.as_str()) {
            return Ok(None);
        }
        Ok(token
            .remaining(SystemTime::now())
            .filter(|left| *left > MIN_REMAINING)
            .map(|left| (token, left)))
    }

    /// Stores `token` (3 attempts, 150 ms apart).
    pub async fn store(&self, token: &SharedToken) -> Result<(), RemoteError> {
        write_with_retries(self.store.as_ref(), SHARED_TOKEN_SETTING, &token.to_json()).await
    }

    /// The current value of the setting `name` in the store (a refresh token another
    /// instance rotated).
    pub async fn read(&self, name: &str) -> Result<Option<String>, RemoteError> {
        self.store.read(name).await
    }

    /// Writes `value` to the setting `name` (3 attempts, 150 ms apart).
    pub async fn write(&self, name: &str, value: &str) -> Result<(), RemoteError> {
        write_with_retries(self.store.as_ref(), name, value).await
    }

    /// One attempt at the lock: whether it is ours now.
    pub async fn try_acquire(&self) -> bool {
        let ours = format!("locked_{}", super::unix_now().as_millis());
        match self.store.create_lock(LOCK_SETTING, &ours).await {
            Ok(LockCreation::Created) => {
                // Two instances can both create it around a delete: the one whose value
                // stayed has it.
                tokio::time::sleep(Duration::from_millis(100) + random_millis(200)).await;
                match self.store.read_lock(LOCK_SETTING).await {
                    Ok(Some(v)) => v == ours,
                    Ok(None) => false,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the token lock back");
                        false
                    }
                }
            }
            Ok(LockCreation::Exists { age }) => {
                if age.is_some_and(|a| a > LOCK_STALE_AFTER) {
                    tracing::warn!("breaking a token lock older than two minutes");
                    if let Err(e) = self.store.delete_lock(LOCK_SETTING).await {
                        tracing::warn!(error = %e, "cannot break the stale token lock");
                    }
                }
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the token lock");
                false
            }
        }
    }

    /// Releases the lock after the hold pause.
    pub async fn release(&self) {
        tokio::time::sleep(self.timing.hold).await;
        if let Err(e) = self.store.delete_lock(LOCK_SETTING).await {
            tracing::warn!(error = %e, "cannot release the token lock");
        }
    }

    /// The pause after failed attempt `attempt` (0-based).
    pub fn retry_pause(&self, attempt: u32) -> Duration {
        (self.timing.retry + random_millis(250)) * (attempt + 1)
    }
}

pub(crate) async fn write_with_retries(
    store: &dyn CredentialStore,
    name: &str,
    value: &str,
) -> Result<(), RemoteError> {
    let mut attempt = 0;
    loop {
        match store.write(name, value).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= 2 => return Err(e),
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use std::collections::HashMap;
    use std::sync::Mutex;

    /// A store in memory, with the lock semantics of SSM's `Overwrite=false`.
    #[derive(Default)]
    pub(crate) struct MemoryStore {
        pub(crate) values: Mutex<HashMap<String, String>>,
        pub(crate) locks: Mutex<HashMap<String, (String, SystemTime)>>,
        pub(crate) writes: Mutex<Vec<String>>,
    }

    impl CredentialStore for MemoryStore {
        fn write<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, ()> {
            Box::pin(async move {
                self.writes.lock().unwrap().push(name.to_owned());
                self.values
                    .lock()
                    .unwrap()
                    .insert(name.to_owned(), value.to_owned());
                Ok(())
            })
        }
        fn read<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<String>> {
            Box::pin(async move { Ok(self.values.lock().unwrap().get(name).cloned()) })
        }
        fn create_lock<'a>(
            &'a self,
            name: &'a str,
            value: &'a str,
        ) -> StoreFuture<'a, LockCreation> {
            Box::pin(async move {
                let mut locks = self.locks.lock().unwrap();
                if let Some((_, at)) = locks.get(name) {
                    return Ok(LockCreation::Exists {
                        age: at.elapsed().ok(),
                    });
                }
                locks.insert(name.to_owned(), (value.to_owned(), SystemTime::now()));
                Ok(LockCreation::Created)
            })
        }
        fn read_lock<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<String>> {
            Box::pin(async move { Ok(self.locks.lock().unwrap().get(name).map(|l| l.0.clone())) })
        }
        fn delete_lock<'a>(&'a self, name: &'a str) -> StoreFuture<'a, ()> {
            Box::pin(async move {
                self.locks.lock().unwrap().remove(name);
                Ok(())
            })
        }
    }

    #[test]
    fn the_stored_json_is_psoxys() {
        let t = SharedToken {
            token: "my-token".into(),
            expiration_date: Some(1_639_526_410_000),
        };
        assert_eq!(
            t.to_json(),
            r#"{"token":"my-token","expirationDate":1639526410000}"#
        );
        assert_eq!(
            SharedToken::parse(r#"{"token":"my-token","expirationDate":1639526410000}"#),
            Some(t)
        );
        let undated = SharedToken::parse(r#"{"token":"t","expirationDate":null}"#).unwrap();
        assert_eq!(
            undated.remaining(SystemTime::now()),
            None,
            "no date: expired"
        );
        assert_eq!(SharedToken::parse("fill me"), None);
        assert_eq!(SharedToken::parse(r#"{"token":""}"#), None);
        let now = SystemTime::now();
        let t = SharedToken::new("t".into(), now, Duration::from_secs(3600));
        let left = t.remaining(now).unwrap();
        assert!(left > Duration::from_secs(3599) && left <= Duration::from_secs(3600));
        let past = SharedToken::new(
            "t".into(),
            now - Duration::from_secs(7200),
            Duration::from_secs(3600),
        );
        assert_eq!(past.remaining(now), None);
    }

    fn shared(store: &Arc<MemoryStore>) -> SharedTokens {
        SharedTokens::new(
            store.clone(),
            LockTiming {
                hold: Duration::from_millis(1),
                retry: Duration::from_millis(1),
            },
        )
    }

    #[tokio::test]
    async fn fresh_tokens_only_and_never_the_one_being_replaced() {
        let store = Arc::new(MemoryStore::default());
        let s = shared(&store);
        assert!(s.fresh(None).await.unwrap().is_none(), "none stored");
        let now = SystemTime::now();
        s.store(&SharedToken::new("a".into(), now, Duration::from_secs(30)))
            .await
            .unwrap();
        assert!(
            s.fresh(None).await.unwrap().is_none(),
            "under a minute left"
        );
        s.store(&SharedToken::new(
            "b".into(),
            now,
            Duration::from_secs(3600),
        ))
        .await
        .unwrap();
        assert_eq!(s.fresh(None).await.unwrap().unwrap().0.token, "b");
        assert!(s.fresh(Some("b")).await.unwrap().is_none(), "refused");
    }

    #[tokio::test]
    async fn the_lock_is_exclusive_released_and_broken_when_stale() {
        let store = Arc::new(MemoryStore::default());
        let s = shared(&store);
        assert!(s.try_acquire().await);
        assert!(!s.try_acquire().await, "held");
        s.release().await;
        assert!(store.locks.lock().unwrap().is_empty());
        assert!(s.try_acquire().await);
        // A lock left by a dead instance three minutes ago.
        store.locks.lock().unwrap().insert(
            LOCK_SETTING.into(),
            (
                "locked_1".into(),
                SystemTime::now() - Duration::from_secs(180),
            ),
        );
        assert!(!s.try_acquire().await, "broken, not taken");
        assert!(
            store.locks.lock().unwrap().is_empty(),
            "the stale lock is gone"
        );
        assert!(s.try_acquire().await, "the next attempt takes it");
        assert!(s.retry_pause(2) >= Duration::from_millis(3));
    }
}
