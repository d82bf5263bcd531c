//! `psoxy check` for webhook collector rules: compiles the transforms (as the collector does
//! at start) and lists the claims bound to the payload; with a sample payload (JSON), prints
//! it sanitized.

use serde_json::Value;

use super::preview::preview_pseudonymizer;
use crate::cli::{shown, CheckArgs, CliError, EXIT_OK};
use crate::rules::webhook::WebhookRules;
use crate::transform::response::compile_transforms;

/// Runs `psoxy check` on webhook rules.
pub(super) fn run(args: &CheckArgs, rules: WebhookRules) -> Result<i32, CliError> {
    let at = |e: &dyn std::fmt::Display| CliError(format!("{}: {e}", shown(&args.rules)));
    let (p, _) = preview_pseudonymizer()?;
    let program = compile_transforms(&rules.endpoints[0].transforms)
        .map_err(|e| at(&format!("endpoints[0].{e}")))?;
    println!(
        "{}: valid webhook collector rules; transforms: {}",
        shown(&args.rules),
        if program.is_empty() {
            "none".to_owned()
        } else {
            program
                .steps()
                .iter()
                .map(|s| s.op().name())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let claims = rules
        .jwt_claims_to_verify
        .iter()
        .chain(&rules.endpoints[0].jwt_claims_to_verify);
    for (name, spec) in claims {
        let mut places: Vec<String> = spec
            .payload_contents
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
        if let Some(q) = &spec.query_param {
            places.push(format!("?{q}="));
        }
        println!("  claim `{name}` must equal: {}", places.join(", "));
    }
    if let Some(sample) = &args.sample {
        let text = std::fs::read_to_string(sample)
            .map_err(|e| CliError(format!("{}: {e}", shown(sample))))?;
        let mut doc: Value = serde_json::from_str(&text)
            .map_err(|e| CliError(format!("{}: not JSON: {e}", shown(sample))))?;
        program
            .apply(&mut doc, &p)
            .map_err(|e| CliError(format!("{}: {e}", shown(sample))))?;
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    Ok(EXIT_OK)
}
