//! A place objects are written under: `s3://bucket/prefix` or `gs://bucket/prefix` as a
//! setting names it (`WEBHOOK_OUTPUT` on Google Cloud, `WEBHOOK_BATCH_OUTPUT`,
//! `ASYNC_OUTPUT_DESTINATION`, `SIDE_OUTPUT_*`), or a local folder.

/// A bucket and a key prefix (empty, or ending in `/`), with the scheme it is shown with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPrefix {
    /// `s3`, `gs`, or `file` for a local folder.
    pub scheme: String,
    /// The bucket (for `file`, the folder's path).
    pub bucket: String,
    /// The key prefix: empty, or ending in `/`.
    pub prefix: String,
}

/// A setting that is not `s3://bucket[/prefix]` or `gs://bucket[/prefix]`. Names the setting,
/// never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {0} must be s3://bucket[/prefix] or gs://bucket[/prefix]")]
pub struct NotAPrefix(pub &'static str);

/// A prefix in the other cloud's storage (`gs://` given to a Lambda function, `s3://` to a
/// Cloud Run service). Names the setting, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {setting} must start with {scheme}:// on this platform")]
pub struct WrongStore {
    /// The setting.
    pub setting: &'static str,
    /// The scheme this platform's store has.
    pub scheme: &'static str,
}

impl ObjectPrefix {
    /// Parses `s3://bucket/prefix` or `gs://bucket/prefix`, the value of `setting`.
    pub fn parse(text: &str, setting: &'static str) -> Result<ObjectPrefix, NotAPrefix> {
        let text = text.trim();
        let (scheme, rest) = ["s3", "gs"]
            .into_iter()
            .find_map(|s| Some((s, text.strip_prefix(s)?.strip_prefix("://")?)))
            .ok_or(NotAPrefix(setting))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(NotAPrefix(setting));
        }
        Ok(ObjectPrefix::new(scheme, bucket, prefix))
    }

    /// Checks that the prefix is in this platform's store (`scheme`), for `setting`.
    pub fn require(&self, scheme: &'static str, setting: &'static str) -> Result<(), WrongStore> {
        if self.scheme == scheme {
            Ok(())
        } else {
            Err(WrongStore { setting, scheme })
        }
    }

    /// `scheme://bucket/prefix` (a `/` is added to a non-empty prefix without one, and leading
    /// ones are removed).
    pub fn new(scheme: &str, bucket: &str, prefix: &str) -> ObjectPrefix {
        let prefix = prefix.trim_matches('/');
        ObjectPrefix {
            scheme: scheme.to_owned(),
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        }
    }

    /// A local folder (objects are files under it; the store maps the bucket to the folder).
    pub fn folder(path: &std::path::Path) -> ObjectPrefix {
        ObjectPrefix::new("file", &path.display().to_string(), "")
    }

    /// The key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The URL of the object `key` (`s3://bucket/key`, `file:///folder/key`).
    pub fn url(&self, key: &str) -> String {
        format!(
            "{}://{}/{key}",
            self.scheme,
            self.bucket.trim_end_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_and_name_their_setting() {
        let p = ObjectPrefix::parse(" s3://answers/async/ ", "ASYNC_OUTPUT_DESTINATION").unwrap();
        assert_eq!(
            (p.bucket.as_str(), p.prefix.as_str()),
            ("answers", "async/")
        );
        assert_eq!(p.url(&p.key("20261206/x")), "s3://answers/async/20261206/x");
        assert_eq!(ObjectPrefix::parse("s3://b", "X").unwrap().prefix, "");
        let g = ObjectPrefix::parse("gs://b/p", "WEBHOOK_BATCH_OUTPUT").unwrap();
        assert_eq!(g.url(&g.key("x")), "gs://b/p/x");
        assert!(g.require("gs", "X").is_ok());
        assert_eq!(
            g.require("s3", "WEBHOOK_BATCH_OUTPUT")
                .unwrap_err()
                .to_string(),
            "setting WEBHOOK_BATCH_OUTPUT must start with s3:// on this platform"
        );
        assert_eq!(
            ObjectPrefix::parse("https://b/p", "WEBHOOK_BATCH_OUTPUT")
                .unwrap_err()
                .to_string(),
            "setting WEBHOOK_BATCH_OUTPUT must be s3://bucket[/prefix] or gs://bucket[/prefix]"
        );
        assert!(ObjectPrefix::parse("s3:///p", "X").is_err());
        let f = ObjectPrefix::folder(std::path::Path::new("/tmp/out"));
        assert_eq!(f.url("a/b"), "file:///tmp/out/a/b");
    }
}
