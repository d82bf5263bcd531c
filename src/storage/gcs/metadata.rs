//! Custom metadata of GCS objects: `psoxy-*` keys, as on S3. GCS keeps keys as given; they
//! are compared lower-cased, so a key differing only in case is found too.

use std::collections::HashMap;

/// Custom metadata as read from an object, keys lower-cased.
pub fn received_metadata(metadata: &HashMap<String, String>) -> HashMap<String, String> {
    metadata
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_lower_cased() {
        let got = received_metadata(&HashMap::from([(
            "Psoxy-Instance-Id".to_string(),
            "hris".to_string(),
        )]));
        assert_eq!(
            got.get("psoxy-instance-id").map(String::as_str),
            Some("hris")
        );
    }
}
