//! `psoxy check`: validate a rules file of either mode and preview its effect on a sample.
//! The mode is recognised by parsing the file ([`crate::rules::load_any_rules_file`]): bulk
//! rules are checked by [`bulk`], API rules by [`api`].

mod api;
mod bulk;
mod preview;
mod webhook;

use super::{shown, CheckArgs, CliError};
use crate::rules::{load_any_rules_file, AnyRules};

/// Runs `psoxy check`.
pub fn run(args: CheckArgs) -> Result<i32, CliError> {
    let rules = load_any_rules_file(&args.rules)
        .map_err(|e| CliError(format!("{}: {e}", shown(&args.rules))))?;
    match rules {
        AnyRules::Api(rules) => api::run(&args, rules),
        AnyRules::Bulk(rules) => bulk::run(&args, *rules),
        AnyRules::Webhook(rules) => webhook::run(&args, rules),
    }
}
