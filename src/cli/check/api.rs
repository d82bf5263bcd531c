//! `psoxy check` for API rule files: validates and compiles them, lists what each endpoint
//! allows and does, and with `--request` says whether a request is allowed; with a sample
//! response as well, prints it sanitized.

use serde_json::Value;

use super::preview::preview_pseudonymizer;
use crate::api::body::check_request_body;
use crate::api::{ApiRuleSet, Matcher};
use crate::cli::{shown, CheckArgs, CliError, EXIT_OK, EXIT_WARNINGS};
use crate::rules::api::{ApiRules, EndpointPath};

/// Runs `psoxy check` on API rules.
pub(super) fn run(args: &CheckArgs, rules: ApiRules) -> Result<i32, CliError> {
    let at = |e: &dyn std::fmt::Display| CliError(format!("{}: {e}", shown(&args.rules)));
    let (p, keys) = preview_pseudonymizer()?;
    let set = ApiRuleSet::compile(rules).map_err(|e| at(&e))?;
    let (rules, plans) = (&set.rules, &set.plans);
    for (i, plan) in plans.iter().enumerate() {
        plan.check_keys(&p)
            .map_err(|e| at(&format!("endpoints[{i}]: {e}")))?;
    }
    println!(
        "{}: valid API rules, {} endpoints (anything else is blocked)",
        shown(&args.rules),
        rules.endpoints.len()
    );
    for w in &rules.warnings {
        println!("  warning: {w}");
    }
    for (i, (e, plan)) in rules.endpoints.iter().zip(plans).enumerate() {
        let path = match &e.path {
            EndpointPath::Template(t) => t.as_str().to_owned(),
            EndpointPath::Regex(r) => format!("regex {}", r.as_str()),
        };
        let methods = e
            .allowed_methods
            .as_ref()
            .map(|m| m.join(","))
            .unwrap_or_else(|| "any method".into());
        let query = match &e.allowed_query_params {
            None => "any query".to_owned(),
            Some(q) if q.is_empty() => "no query".to_owned(),
            Some(q) => format!("query {}", q.join(",")),
        };
        let transforms = plan.methods();
        println!(
            "  [{i}] {methods} {path}  ({query}; {}; transforms: {})",
            if e.response_schema.is_some() {
                "responseSchema"
            } else {
                "no responseSchema"
            },
            if transforms.is_empty() {
                "none".to_owned()
            } else {
                transforms.join(", ")
            }
        );
    }
    let warned = args.strict && !rules.warnings.is_empty();
    let done = if warned { EXIT_WARNINGS } else { EXIT_OK };
    let Some(request) = &args.request else {
        if args.sample.is_some() {
            return Err(CliError(
                "a sample response needs --request \"GET /path?query\" to pick its endpoint".into(),
            ));
        }
        return Ok(done);
    };
    let (method, target) = request
        .trim()
        .split_once(' ')
        .ok_or_else(|| CliError("--request must look like \"GET /path?query\"".into()))?;
    let (path, query) = match target.trim().split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target.trim(), None),
    };
    let matcher = Matcher::new(rules.clone());
    let m = match matcher.decide(method, path, query) {
        Ok(m) => m,
        Err(blocked) => {
            println!("{request}: BLOCKED (403): {blocked}");
            return Ok(done);
        }
    };
    let body = match &args.body {
        Some(file) => std::fs::read(file).map_err(|e| CliError(format!("{}: {e}", shown(file))))?,
        None => Vec::new(),
    };
    let body = match check_request_body(method, None, &body) {
        Ok(body) => body,
        Err(e) => {
            println!("{request}: INVALID_REQUEST (400): {e}");
            return Ok(done);
        }
    };
    if !set.body_allows(m.index, args.content_type.as_deref(), body) {
        println!(
            "{request}: BLOCKED (403): endpoints[{}] ({}): the body does not satisfy its requestBody rule",
            m.index,
            m.endpoint.path.as_str()
        );
        return Ok(done);
    }
    println!(
        "{request}: allowed by endpoints[{}] ({})",
        m.index,
        m.endpoint.path.as_str()
    );
    let Some(sample) = &args.sample else {
        return Ok(done);
    };
    let text =
        std::fs::read_to_string(sample).map_err(|e| CliError(format!("{}: {e}", shown(sample))))?;
    let mut doc: Value = serde_json::from_str(&text)
        .map_err(|e| CliError(format!("{}: not JSON: {e}", shown(sample))))?;
    plans[m.index]
        .apply(&mut doc, &p)
        .map_err(|e| CliError(format!("{}: {e}", shown(sample))))?;
    println!("sanitized response ({}):", keys.describe());
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).map_err(|e| CliError(e.to_string()))?
    );
    Ok(done)
}
