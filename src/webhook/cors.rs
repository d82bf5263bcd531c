//! CORS for browser senders (`ALLOW_ORIGINS`): a preflight answered with the one origin that
//! matched (never a list), and the same origin on the answers to webhooks.

/// The origins allowed to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowOrigins {
    /// `*`: any origin.
    Any,
    /// These origins (scheme, host and port; compared ignoring case, without a trailing `/`).
    List(Vec<String>),
}

/// The request headers a sender may use.
pub const ALLOWED_HEADERS: &str = "Authorization, Content-Type, X-Psoxy-Authorization";
/// The methods a sender may use.
pub const ALLOWED_METHODS: &str = "POST, OPTIONS";

impl AllowOrigins {
    /// Parses the setting (comma-separated; `*` anywhere means any).
    pub fn parse(setting: &str) -> AllowOrigins {
        let items: Vec<String> = setting
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        if items.is_empty() || items.iter().any(|o| o == "*") {
            AllowOrigins::Any
        } else {
            AllowOrigins::List(items)
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`: `*` when any is
    /// allowed, the origin itself when listed, `None` when not allowed.
    pub fn allow(&self, origin: Option<&str>) -> Option<String> {
        match self {
            AllowOrigins::Any => Some("*".into()),
            AllowOrigins::List(list) => {
                let origin = origin?.trim();
                let wanted = origin.trim_end_matches('/').to_ascii_lowercase();
                list.contains(&wanted).then(|| origin.to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_matching_origin_is_named() {
        let list = AllowOrigins::parse("https://a.example, https://B.example/");
        assert_eq!(
            list.allow(Some("https://b.example")),
            Some("https://b.example".into())
        );
        assert_eq!(list.allow(Some("https://c.example")), None);
        assert_eq!(list.allow(None), None);
        assert_eq!(AllowOrigins::parse("").allow(None), Some("*".into()));
        assert_eq!(AllowOrigins::parse("https://a, *"), AllowOrigins::Any);
    }
}
