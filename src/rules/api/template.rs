//! OpenAPI-style path templates (`/orgs/{org}/members`, `/files/{path?}`).
//!
//! A template matches a whole request path, ignoring case in its literal parts. `{name}`
//! stands for a non-empty run of characters without `/`, `{name?}` for a possibly empty one.
//! Matching is done on the raw (still percent-encoded) path, so an encoded `%2F` stays inside
//! its segment.

/// A compiled path template.
#[derive(Debug, Clone)]
pub struct PathTemplate {
    text: String,
    regex: regex::Regex,
    params: Vec<TemplateParam>,
}

/// A `{name}` / `{name?}` placeholder of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateParam {
    /// The name between the braces (without `?`).
    pub name: String,
    /// Written `{name?}`: may be empty.
    pub optional: bool,
}

/// A path template that does not compile.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TemplateError {
    /// A `}` without its `{`.
    #[error("unbalanced `}}` in path template `{0}`")]
    Unbalanced(String),
    /// A `{` never closed.
    #[error("unclosed `{{` in path template `{0}`")]
    Unclosed(String),
    /// A parameter name that is empty or holds `{`, `/` or `?`.
    #[error("bad parameter `{{{inner}}}` in path template `{text}`")]
    BadParameter {
        /// What was between the braces.
        inner: String,
        /// The template.
        text: String,
    },
    /// A name used twice.
    #[error("parameter `{name}` appears twice in path template `{text}`")]
    Repeated {
        /// The name.
        name: String,
        /// The template.
        text: String,
    },
    /// The regex built from it does not compile (too large).
    #[error("path template `{text}` cannot be compiled: {source}")]
    Regex {
        /// The template.
        text: String,
        /// The engine's error.
        source: regex::Error,
    },
}

impl PathTemplate {
    /// Compiles a template; errors describe what is wrong with it.
    pub fn parse(text: &str) -> Result<PathTemplate, TemplateError> {
        let mut pattern = String::from("(?i)^");
        let mut params: Vec<TemplateParam> = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            let (literal, tail) = rest.split_at(open);
            pattern.push_str(&regex::escape(literal));
            if tail.starts_with('}') {
                return Err(TemplateError::Unbalanced(text.to_owned()));
            }
            let Some(close) = tail.find('}') else {
                return Err(TemplateError::Unclosed(text.to_owned()));
            };
            let inner = &tail[1..close];
            let (name, optional) = match inner.strip_suffix('?') {
                Some(name) => (name, true),
                None => (inner, false),
            };
            if name.is_empty() || name.contains(['{', '/', '?']) {
                return Err(TemplateError::BadParameter {
                    inner: inner.to_owned(),
                    text: text.to_owned(),
                });
            }
            if params.iter().any(|p| p.name == name) {
                return Err(TemplateError::Repeated {
                    name: name.to_owned(),
                    text: text.to_owned(),
                });
            }
            pattern.push_str(if optional { "([^/]*)" } else { "([^/]+)" });
            params.push(TemplateParam {
                name: name.to_owned(),
                optional,
            });
            rest = &tail[close + 1..];
        }
        pattern.push_str(&regex::escape(rest));
        pattern.push('$');
        let regex = regex::Regex::new(&pattern).map_err(|source| TemplateError::Regex {
            text: text.to_owned(),
            source,
        })?;
        Ok(PathTemplate {
            text: text.to_owned(),
            regex,
            params,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The placeholders, in order.
    pub fn params(&self) -> &[TemplateParam] {
        &self.params
    }

    /// The raw value of each placeholder (same order as [`PathTemplate::params`]) when the
    /// template matches the whole `path`.
    pub fn captures<'p>(&self, path: &'p str) -> Option<Vec<&'p str>> {
        let caps = self.regex.captures(path)?;
        Some(
            (1..=self.params.len())
                .map(|i| caps.get(i).map_or("", |m| m.as_str()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(text: &str) -> PathTemplate {
        PathTemplate::parse(text).unwrap()
    }

    #[test]
    fn literal_and_params() {
        let tpl = t("/repos/{owner}/{repo}/pulls");
        assert_eq!(
            tpl.captures("/repos/octo/hello/pulls"),
            Some(vec!["octo", "hello"])
        );
        assert_eq!(tpl.params()[1].name, "repo");
        assert_eq!(tpl.captures("/repos/octo//pulls"), None);
        assert_eq!(tpl.captures("/repos/octo/a/b/pulls"), None);
        assert_eq!(tpl.captures("/repos/octo/hello/pulls/"), None);
        assert_eq!(tpl.captures("/x/repos/octo/hello/pulls"), None);
    }

    #[test]
    fn case_insensitive_literals_keep_param_case() {
        let tpl = t("/Orgs/{org}/members");
        assert_eq!(tpl.captures("/ORGS/Acme/MEMBERS"), Some(vec!["Acme"]));
    }

    #[test]
    fn optional_segments() {
        let tpl = t("/files/{path?}");
        assert_eq!(tpl.captures("/files/"), Some(vec![""]));
        assert_eq!(tpl.captures("/files/a.txt"), Some(vec!["a.txt"]));
        assert_eq!(tpl.captures("/files"), None);
        assert_eq!(tpl.captures("/files/a/b"), None);
        assert!(tpl.params()[0].optional);
    }

    #[test]
    fn regex_characters_are_literal_and_encoded_slash_stays() {
        let tpl = t("/v1.0/{id}/x+y");
        assert_eq!(tpl.captures("/v1.0/a%2Fb/x+y"), Some(vec!["a%2Fb"]));
        assert_eq!(tpl.captures("/v1x0/a/x+y"), None);
        assert_eq!(tpl.captures("/v1.0/a/xxy"), None);
        let partial = t("/files/{name}.{ext}");
        assert_eq!(partial.captures("/files/a.b.txt"), Some(vec!["a.b", "txt"]));
    }

    #[test]
    fn bad_templates() {
        for (text, needle) in [
            ("/a/{id", "unclosed"),
            ("/a/id}", "unbalanced"),
            ("/a/{}", "bad parameter"),
            ("/a/{?}", "bad parameter"),
            ("/a/{x}/{x}", "twice"),
            ("/a/{x{y}}", "bad parameter"),
        ] {
            let e = PathTemplate::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    /// A template segment for the property test.
    #[derive(Debug, Clone)]
    enum Seg {
        Lit(String),
        Param,
        Optional,
    }

    fn seg() -> impl Strategy<Value = Seg> {
        prop_oneof![
            "[a-cA-C]{1,2}".prop_map(Seg::Lit),
            Just(Seg::Param),
            Just(Seg::Optional),
        ]
    }

    /// Reference: segment by segment, literals compared ignoring ASCII case.
    fn reference(segs: &[Seg], path: &str) -> Option<Vec<String>> {
        let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        if parts.len() != segs.len() {
            return None;
        }
        let mut out = Vec::new();
        for (seg, part) in segs.iter().zip(parts) {
            match seg {
                Seg::Lit(l) if l.eq_ignore_ascii_case(part) => {}
                Seg::Lit(_) => return None,
                Seg::Param if part.is_empty() => return None,
                Seg::Param | Seg::Optional => out.push(part.to_owned()),
            }
        }
        Some(out)
    }

    /// A template and a path close to it: its literals in random case or replaced, random
    /// parameter values (possibly empty), sometimes a segment too many or too few.
    fn template_and_path() -> impl Strategy<Value = (Vec<Seg>, Vec<String>)> {
        prop::collection::vec(seg(), 1..5).prop_flat_map(|segs| {
            let parts: Vec<BoxedStrategy<String>> = segs
                .iter()
                .map(|s| match s {
                    Seg::Lit(l) => {
                        let l = l.clone();
                        prop_oneof![
                            3 => any::<bool>().prop_map(move |up| if up {
                                l.to_uppercase()
                            } else {
                                l.to_lowercase()
                            }),
                            1 => "[a-cA-C]{0,2}".prop_map(String::from),
                        ]
                        .boxed()
                    }
                    _ => "[a-c.%2F]{0,3}".prop_map(String::from).boxed(),
                })
                .collect();
            (Just(segs), parts, 0..5u8).prop_map(|(segs, mut parts, change)| {
                match change {
                    0 => parts.push("b".to_owned()),
                    1 => {
                        parts.pop();
                    }
                    _ => {}
                }
                (segs, parts)
            })
        })
    }

    proptest! {
        #[test]
        fn whole_segment_templates_agree_with_reference((segs, parts) in template_and_path()) {
            let mut text = String::new();
            for (i, s) in segs.iter().enumerate() {
                text.push('/');
                match s {
                    Seg::Lit(l) => text.push_str(l),
                    Seg::Param => text.push_str(&format!("{{p{i}}}")),
                    Seg::Optional => text.push_str(&format!("{{p{i}?}}")),
                }
            }
            let tpl = PathTemplate::parse(&text).unwrap();
            let path = format!("/{}", parts.join("/"));
            let got = tpl.captures(&path).map(|v| v.iter().map(|s| s.to_string()).collect());
            prop_assert_eq!(got, reference(&segs, &path), "template {} path {}", text, path);
        }
    }
}
