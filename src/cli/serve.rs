//! `psoxy serve` (API mode on this machine) and `psoxy api-key`.

use std::path::Path;

use super::{env, pseudonym_flags, shown, ApiKeyArgs, CliError, ServeArgs, EXIT_OK};
use crate::api::keys::{new_key as make_key, CallerKeys};
use crate::api::settings::resolve;
use crate::api::{ApiHandler, ApiService, ApiSettings, ApiSettingsError};
use crate::settings::catalog::{PSOXY_INSTANCE_ID, PSOXY_SALT, RULES, TARGET_HOST};
use crate::settings::SettingError;

/// Runs `psoxy serve` until Ctrl-C.
pub fn run(args: ServeArgs) -> Result<i32, CliError> {
    if let Some(rules) = args.webhook_rules.clone() {
        return run_webhook(args, &rules);
    }
    let mut flags = pseudonym_flags(&args.pseudonym);
    if let Some(path) = &args.rules {
        let text =
            std::fs::read_to_string(path).map_err(|e| CliError(format!("{}: {e}", shown(path))))?;
        flags.set(&RULES, Some(text));
    }
    flags.set(&TARGET_HOST, args.target.clone());
    flags.set(&PSOXY_INSTANCE_ID, args.connector.clone());
    let runtime = tokio::runtime::Runtime::new()?;
    // Flags, then the environment, then the parameter store the environment names (as the
    // function reads its settings).
    let settings = runtime
        .block_on(resolve(&flags, &env))
        .and_then(|(resolved, writer)| {
            let mut settings = ApiSettings::from_settings(&resolved)?;
            // The connector: --connector, else PSOXY_INSTANCE_ID wherever it is set (the
            // environment or the store), else the rules file's name.
            if resolved.get(&PSOXY_INSTANCE_ID).is_none() {
                if let Some(stem) = args.rules.as_deref().and_then(rule_file_stem) {
                    settings.instance_id = stem;
                }
            }
            Ok((settings, writer))
        });
    let (settings, writer) = settings.map_err(|e| {
        let hint = match &e {
            ApiSettingsError::Setting(SettingError::Missing(name)) => match *name {
                n if n == RULES.name => " (use --rules FILE)",
                n if n == TARGET_HOST.name => " (use --target URL)",
                n if n == PSOXY_SALT.name => " (use --salt or PSOXY_SALT)",
                _ => "",
            },
            _ => "",
        };
        CliError(format!("{e}{hint}"))
    })?;
    let callers = match (&args.keys, args.no_caller_auth) {
        (Some(path), _) => Some(CallerKeys::from_file(path)?),
        (None, true) => None,
        (None, false) => {
            return Err(CliError(
                "callers need keys: pass --keys FILE (make keys with `psoxy api-key`), or --no-caller-auth to try the proxy on your own machine".into(),
            ))
        }
    };
    if callers.is_none() && !args.listen.ip().is_loopback() {
        return Err(CliError(
            "--no-caller-auth is only allowed on a loopback address (e.g. 127.0.0.1)".into(),
        ));
    }
    let summary = format!(
        "connector `{}`: {} endpoints, forwarding to {}, source auth {}, {}",
        settings.instance_id,
        settings.rules.rules.endpoints.len(),
        settings.target.origin().ascii_serialization(),
        settings.strategy.name(),
        match &callers {
            Some(k) => format!("{} caller keys", k.len()),
            None => "NO caller authentication".to_owned(),
        }
    );
    let async_output = match &args.async_output {
        // The Location names the folder by its absolute path.
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| CliError(format!("{}: {e}", shown(dir))))?;
            Some(std::fs::canonicalize(dir).map_err(|e| CliError(format!("{}: {e}", shown(dir))))?)
        }
        None => None,
    };
    if settings.async_destination.is_some() && async_output.is_none() {
        eprintln!("psoxy serve: ASYNC_OUTPUT_DESTINATION is ignored here; use --async-output DIR");
    }
    if settings.side_output_sanitized.is_some() || settings.side_output_original.is_some() {
        eprintln!("psoxy serve: SIDE_OUTPUT_SANITIZED and SIDE_OUTPUT_ORIGINAL are not written by psoxy serve (only by the functions)");
    }
    let handler = ApiHandler::new(settings, callers, writer)?;
    runtime.block_on(async {
        let mut jobs_done = None;
        let handler = match &async_output {
            None => handler,
            Some(dir) => {
                let destination = crate::storage::ObjectPrefix::folder(dir);
                let store = crate::storage::LocalStore::new(
                    [(destination.bucket.clone(), dir.clone())].into(),
                );
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let handler = handler.with_async(crate::api::deferred::AsyncLeg {
                    destination,
                    store: std::sync::Arc::new(store),
                    queue: crate::api::deferred::AsyncQueue::InProcess(tx),
                });
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let jobs = tokio::spawn(handler.clone().run_queue(rx, async {
                    let _ = stopped.await;
                }));
                jobs_done = Some((stop, jobs));
                handler
            }
        };
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| CliError(format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr()?;
        let summary = match &async_output {
            Some(dir) => format!("{summary}, async answers in {}", shown(dir)),
            None => summary,
        };
        eprintln!("psoxy serve: listening on http://{addr} ({summary}); Ctrl-C to stop");
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        crate::api::server::serve(listener, ApiService::Ready(handler), shutdown).await?;
        if let Some((stop, jobs)) = jobs_done.take() {
            // Every accepted asynchronous request records its outcome before the stop.
            eprintln!("psoxy serve: finishing the accepted asynchronous requests");
            let _ = stop.send(());
            let _ = jobs.await;
        }
        eprintln!("psoxy serve: stopped");
        Ok::<_, CliError>(())
    })?;
    Ok(EXIT_OK)
}

/// Runs the webhook collector (`psoxy serve --webhook-rules`) until Ctrl-C.
fn run_webhook(args: ServeArgs, rules: &Path) -> Result<i32, CliError> {
    use crate::settings::catalog::ACCEPTED_AUTH_KEYS;
    use crate::webhook::queue::Queue;
    use crate::webhook::{Collector, WebhookSettings};
    let output = args.webhook_output.clone().ok_or_else(|| {
        CliError("--webhook-rules needs --webhook-output DIR (where batches are written)".into())
    })?;
    let mut flags = pseudonym_flags(&args.pseudonym);
    let text =
        std::fs::read_to_string(rules).map_err(|e| CliError(format!("{}: {e}", shown(rules))))?;
    flags.set(&RULES, Some(text));
    flags.set(&ACCEPTED_AUTH_KEYS, args.accepted_auth_keys.clone());
    let runtime = tokio::runtime::Runtime::new()?;
    let settings = runtime
        .block_on(crate::webhook::settings::resolve(&flags, &env, None))
        .map_err(|e| CliError(e.to_string()))?;
    #[cfg(feature = "aws")]
    let kms = match settings.get(&ACCEPTED_AUTH_KEYS) {
        Some(keys) if keys.contains("aws-kms:") => Some(aws_sdk_kms::Client::new(
            &runtime.block_on(crate::aws_sdk::sdk_config()),
        )),
        _ => None,
    };
    // Without AWS, `aws-kms:` entries are refused when the keys are parsed.
    #[cfg(not(feature = "aws"))]
    let kms = None;
    let webhook = WebhookSettings::from_settings(&settings, kms).map_err(|e| {
        let hint = match &e {
            crate::webhook::WebhookSettingsError::Setting(SettingError::Missing(name))
                if *name == ACCEPTED_AUTH_KEYS.name =>
            {
                " (use --accepted-auth-keys or ACCEPTED_AUTH_KEYS)"
            }
            crate::webhook::WebhookSettingsError::Setting(SettingError::Missing(name))
                if *name == PSOXY_SALT.name =>
            {
                " (use --salt or PSOXY_SALT)"
            }
            _ => "",
        };
        CliError(format!("{e}{hint}"))
    })?;
    let queue = output.join(".queue");
    let summary = format!(
        "webhook collector: tokens {}, queue {}, batches into {} every {} s",
        if webhook.auth.is_some() {
            "checked"
        } else {
            "NOT checked"
        },
        shown(&queue),
        shown(&output),
        args.batch_seconds
    );
    let collector = Collector::new(webhook, Queue::Folder(queue.clone()))
        .map_err(|e| CliError(e.to_string()))?;
    let every = std::time::Duration::from_secs(args.batch_seconds.max(1));
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| CliError(format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr()?;
        eprintln!("psoxy serve: listening on http://{addr} ({summary}); Ctrl-C to stop");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let batches = tokio::spawn(crate::webhook::server::batch_loop(
            queue.clone(),
            output.clone(),
            every,
            async {
                let _ = stopped.await;
            },
        ));
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        crate::webhook::server::serve(listener, collector, shutdown).await?;
        // The loop finishes a merge under way before the last one runs.
        let _ = stop.send(());
        let _ = batches.await;
        // What was queued before the stop is not left behind.
        let (q, o) = (queue.clone(), output.clone());
        let last =
            tokio::task::spawn_blocking(move || crate::webhook::server::merge_folder(&q, &o))
                .await
                .map_err(|e| CliError(e.to_string()))?;
        if let Err(e) = last {
            eprintln!("psoxy serve: the last batch could not be written: {e}");
        }
        eprintln!("psoxy serve: stopped");
        Ok::<_, CliError>(())
    })?;
    Ok(EXIT_OK)
}

/// `github` for `transforms/api/github.yaml`.
fn rule_file_stem(path: &Path) -> Option<String> {
    Some(path.file_stem()?.to_str()?.to_owned())
}

/// Runs `psoxy api-key`.
pub fn new_key(args: ApiKeyArgs) -> Result<i32, CliError> {
    let (key, sha256) = make_key();
    let expires = (chrono::Utc::now() + chrono::Duration::days(i64::from(args.days)))
        .format("%Y-%m-%d")
        .to_string();
    let connectors = args
        .connectors
        .iter()
        .map(|c| format!("'{}'", c.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    eprintln!("the caller's key (shown once; give it to the caller, it is not stored):");
    println!("{key}");
    eprintln!("add this entry under `keys:` in the file passed to `psoxy serve --keys`:");
    eprintln!(
        "  - {{id: '{}', sha256: {sha256}, expires: {expires}, connectors: [{connectors}]}}",
        args.id.replace('\'', "''")
    );
    Ok(EXIT_OK)
}
