//! Listing a bucket's objects under a prefix, every level below it (`ListObjectsV2`, page by
//! page): what `psoxy replay` re-processes.

use std::time::SystemTime;

use aws_sdk_s3::Client;

use super::error::classify;
use super::S3Error;
use crate::storage::ListedObject;

/// Every object of `bucket` whose key starts with `prefix`, in key order.
pub async fn list_objects(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<ListedObject>, S3Error> {
    let mut objects = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| classify("ListObjectsV2", bucket, prefix, e))?;
        objects.extend(page.contents().iter().filter_map(|o| {
            Some(ListedObject {
                key: o.key()?.to_owned(),
                size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                last_modified: o
                    .last_modified()
                    .and_then(|t| SystemTime::try_from(*t).ok()),
            })
        }));
        match page.next_continuation_token() {
            Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(objects)
}
