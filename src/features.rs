//! The optional parts of a build (Cargo features): `aws`, `gcp` and `parquet`, all on by
//! default. A build without one refuses what needs it with [`NotBuilt`], a clear error, rather
//! than failing obscurely. Without `parquet`, `format::parquet` and `format::parquet_join` are
//! stand-ins (`format/parquet_off.rs`) whose every entry point refuses, and formats resolved
//! to Parquet are refused up front ([`crate::transform::Unsupported::ParquetNotBuilt`]).

/// Something this build cannot do: it was compiled without the feature that does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{needed_by} needs the `{feature}` feature, which this psoxy was built without; build it with the default features")]
pub struct NotBuilt {
    /// The Cargo feature.
    pub feature: &'static str,
    /// What needs it.
    pub needed_by: &'static str,
}

impl NotBuilt {
    /// `needed_by` needs the `aws` feature.
    pub const fn aws(needed_by: &'static str) -> NotBuilt {
        NotBuilt {
            feature: "aws",
            needed_by,
        }
    }

    /// Parquet input or output needs the `parquet` feature.
    pub const fn parquet() -> NotBuilt {
        NotBuilt {
            feature: "parquet",
            needed_by: "Parquet input or output",
        }
    }

    /// `needed_by` needs the `gcp` feature.
    pub const fn gcp(needed_by: &'static str) -> NotBuilt {
        NotBuilt {
            feature: "gcp",
            needed_by,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_feature_and_the_remedy() {
        let text = NotBuilt::aws("an SSM secret store").to_string();
        assert!(
            text.starts_with("an SSM secret store needs the `aws` feature"),
            "{text}"
        );
        assert!(text.contains("default features"), "{text}");
    }
}
