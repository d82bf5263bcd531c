//! Error messages of foreign errors (SDK and client errors) for our typed errors: the error
//! and its sources, their `Display`s only, so no request or response dump (and no header) ends
//! up in a message.

/// `err` and its sources, joined with `: `; a source whose text is already in the message is
/// left out (SDK errors often repeat their cause).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        cause: Option<Box<Layer>>,
    }

    #[test]
    fn sources_are_joined_once() {
        let err = Layer {
            text: "dispatch failure",
            cause: Some(Box::new(Layer {
                text: "io error",
                cause: Some(Box::new(Layer {
                    text: "io error",
                    cause: None,
                })),
            })),
        };
        assert_eq!(error_chain(&err), "dispatch failure: io error");
    }
}
