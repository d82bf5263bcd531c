//! Local folders as object storage: a bucket is a folder, a key a relative path. Outputs are
//! written to a temporary file beside their final path and renamed into place on commit.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use super::{
    ObjectInfo, ObjectSink, ObjectStore, PutOptions, SharedUpload, StoreError, StoredPart,
};

/// A file that appears at its path only when committed; dropped uncommitted, it is deleted.
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// A temporary file in `path`'s folder (created if missing).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".psoxy-partial")
            .tempfile_in(&dir)?;
        Ok(AtomicFile {
            temp,
            path: path.to_path_buf(),
        })
    }

    /// Syncs and renames the file into place.
    pub fn commit(self) -> std::io::Result<()> {
        self.temp.as_file().sync_all()?;
        self.temp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.temp.flush()
    }
}

struct LocalSink {
    file: std::io::BufWriter<AtomicFile>,
    path: PathBuf,
}

impl Write for LocalSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl ObjectSink for LocalSink {
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let path = self.path.clone();
        let failed = |source: std::io::Error| StoreError::Local {
            path: path.clone(),
            source,
        };
        self.file
            .into_inner()
            .map_err(|e| failed(e.into_error()))?
            .commit()
            .map_err(failed)
    }
}

/// Folders standing in for buckets.
#[derive(Debug, Clone, Default)]
pub struct LocalStore {
    buckets: HashMap<String, PathBuf>,
}

impl LocalStore {
    /// A store with the given bucket -> folder mapping.
    pub fn new(buckets: HashMap<String, PathBuf>) -> Self {
        LocalStore { buckets }
    }

    fn path(&self, bucket: &str, key: &str) -> Result<PathBuf, StoreError> {
        let root = self
            .buckets
            .get(bucket)
            .ok_or_else(|| StoreError::UnknownBucket(bucket.to_owned()))?;
        let rel = Path::new(key.trim_start_matches('/'));
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(StoreError::KeyOutsideBucket(key.to_owned()));
        }
        Ok(root.join(rel))
    }
}

/// Where a bucket's shared uploads keep their parts until completed: a folder per upload.
const UPLOADS: &str = ".psoxy-uploads";

impl LocalStore {
    /// The folder of `upload`'s parts.
    fn upload_dir(&self, upload: &SharedUpload) -> Result<PathBuf, StoreError> {
        if upload.id.is_empty() || upload.id.contains(['/', '\\', '.']) {
            return Err(StoreError::KeyOutsideBucket(upload.id.clone()));
        }
        self.path(&upload.bucket, &format!("{UPLOADS}/{}", upload.id))
    }
}

/// Removes the uploads folder above an upload's folder once no upload is left in it.
fn remove_if_empty(upload_dir: &Path) {
    if let Some(uploads) = upload_dir.parent() {
        let _ = std::fs::remove_dir(uploads); // fails while another upload is open
    }
}

/// The version of a local file: its size, modification time and (on Unix) inode. A file
/// replaced by a rename (as this store and most tools write) gets a new inode even with the
/// same size and time; one rewritten in place within one clock tick at the same size does
/// not change it.
fn file_version(meta: &std::fs::Metadata) -> String {
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0u64;
    format!("{:x}-{:x}-{inode:x}", meta.len(), modified.as_nanos())
}

impl ObjectStore for LocalStore {
    fn range_source(
        &self,
        bucket: &str,
        key: &str,
        info: &ObjectInfo,
    ) -> Option<std::sync::Arc<dyn crate::format::byte_ranges::ByteRanges>> {
        Some(super::range_source(self, bucket, key, info))
    }

    fn info(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
        let path = self.path(bucket, key)?;
        let meta = std::fs::metadata(&path).map_err(|source| StoreError::Local {
            path: path.clone(),
            source,
        })?;
        Ok(ObjectInfo {
            size: meta.len(),
            version: Some(file_version(&meta)),
            ..ObjectInfo::default()
        })
    }

    fn read_range(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        start: u64,
        end: u64,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        use std::io::{Seek, SeekFrom};
        let path = self.path(bucket, key)?;
        let failed = |source| StoreError::Local {
            path: path.clone(),
            source,
        };
        let mut file = File::open(&path).map_err(failed)?;
        if let Some(version) = version {
            if file_version(&file.metadata().map_err(failed)?) != version {
                return Err(StoreError::Changed {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                });
            }
        }
        file.seek(SeekFrom::Start(start)).map_err(failed)?;
        Ok(Box::new(file.take(end.saturating_sub(start))))
    }

    fn list(&self, bucket: &str, prefix: &str, max: usize) -> Result<Vec<String>, StoreError> {
        // A prefix ending in `/` is a folder; otherwise its last part starts the file names.
        let (folder, start) = match prefix.rsplit_once('/') {
            Some((folder, start)) => (folder, start),
            None => ("", prefix),
        };
        let dir = if folder.is_empty() {
            self.buckets
                .get(bucket)
                .cloned()
                .ok_or_else(|| StoreError::UnknownBucket(bucket.to_owned()))?
        } else {
            self.path(bucket, folder)?
        };
        let failed = |source| StoreError::Local {
            path: dir.clone(),
            source,
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(failed(e)),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(failed)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.starts_with(start) {
                continue;
            }
            if entry.file_type().map_err(failed)?.is_file() {
                keys.push(format!("{}{name}", &prefix[..prefix.len() - start.len()]));
            }
        }
        keys.sort();
        keys.truncate(max);
        Ok(keys)
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let path = self.path(bucket, key)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StoreError::Local { path, source: e })
            }
            _ => Ok(()),
        }
    }

    fn read(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        let path = self.path(bucket, key)?;
        let file = File::open(&path).map_err(|source| StoreError::Local {
            path: path.clone(),
            source,
        })?;
        Ok(Box::new(file))
    }

    fn open_upload(
        &self,
        bucket: &str,
        key: &str,
        _options: PutOptions,
    ) -> Result<Option<SharedUpload>, StoreError> {
        self.path(bucket, key)?;
        let uploads = self.path(bucket, UPLOADS)?;
        let failed = |source| StoreError::Local {
            path: uploads.clone(),
            source,
        };
        std::fs::create_dir_all(&uploads).map_err(failed)?;
        let dir = tempfile::Builder::new()
            .prefix("upload-")
            .tempdir_in(&uploads)
            .map_err(failed)?
            .keep();
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Some(SharedUpload {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            id,
        }))
    }

    fn upload_part(
        &self,
        upload: &SharedUpload,
        number: u32,
        bytes: Vec<u8>,
    ) -> Result<StoredPart, StoreError> {
        let path = self.upload_dir(upload)?.join(number.to_string());
        let failed = |source| StoreError::Local {
            path: path.clone(),
            source,
        };
        if !path.parent().is_some_and(Path::is_dir) {
            return Err(failed(std::io::ErrorKind::NotFound.into()));
        }
        let mut file = AtomicFile::create(&path).map_err(failed)?;
        file.write_all(&bytes).map_err(failed)?;
        file.commit().map_err(failed)?;
        Ok(StoredPart {
            number,
            size: bytes.len() as u64,
            tag: format!("{number}-{}", bytes.len()),
        })
    }

    fn complete_upload(
        &self,
        upload: &SharedUpload,
        parts: &[StoredPart],
    ) -> Result<(), StoreError> {
        let dir = self.upload_dir(upload)?;
        let path = self.path(&upload.bucket, &upload.key)?;
        let failed = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Local { path, source }
        };
        let refused = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
        if parts.windows(2).any(|w| w[0].number >= w[1].number) {
            return Err(failed(&dir)(refused("parts out of order")));
        }
        let mut file = AtomicFile::create(&path).map_err(failed(&path))?;
        for (i, part) in parts.iter().enumerate() {
            let from = dir.join(part.number.to_string());
            let mut reader = File::open(&from).map_err(failed(&from))?;
            let size = reader.metadata().map_err(failed(&from))?.len();
            if size != part.size || (i + 1 < parts.len() && size < super::MIN_SHARED_PART as u64) {
                return Err(failed(&from)(refused("a part is not what was uploaded")));
            }
            std::io::copy(&mut reader, &mut file).map_err(failed(&path))?;
        }
        file.commit().map_err(failed(&path))?;
        std::fs::remove_dir_all(&dir).map_err(failed(&dir))?;
        remove_if_empty(&dir);
        Ok(())
    }

    fn abort_upload(&self, upload: &SharedUpload) -> Result<(), StoreError> {
        let dir = self.upload_dir(upload)?;
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Local {
                path: dir,
                source: e,
            }),
            _ => {
                remove_if_empty(&dir);
                Ok(())
            }
        }
    }

    fn write(
        &self,
        bucket: &str,
        key: &str,
        _options: PutOptions,
    ) -> Result<Box<dyn ObjectSink>, StoreError> {
        let path = self.path(bucket, key)?;
        let file = AtomicFile::create(&path).map_err(|source| StoreError::Local {
            path: path.clone(),
            source,
        })?;
        Ok(Box::new(LocalSink {
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            path,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_of_a_version_fails_once_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(HashMap::from([(
            "in".to_string(),
            dir.path().to_path_buf(),
        )]));
        std::fs::write(dir.path().join("a.csv"), b"first,version\n").unwrap();
        let info = store.info("in", "a.csv").unwrap();
        let version = info.version.clone();
        assert!(version.is_some());
        let ranges = store.range_source("in", "a.csv", &info).unwrap();
        assert!(ranges.read_range(0, 5).is_ok() && !ranges.changed());
        let mut head = String::new();
        store
            .read_range("in", "a.csv", version.as_deref(), 0, 5)
            .unwrap()
            .read_to_string(&mut head)
            .unwrap();
        assert_eq!(head, "first");
        std::fs::write(dir.path().join("a.csv"), b"the second version\n").unwrap();
        let err = store
            .read_range("in", "a.csv", version.as_deref(), 0, 5)
            .err()
            .expect("the old version is gone");
        assert!(err.is_changed(), "{err}");
        // Parquet read in place: the ranges of the old version fail, and say why.
        assert!(ranges.read_range(0, 5).is_err() && ranges.changed());
        assert_eq!(
            err.to_string(),
            "in/a.csv: the object changed while it was being read"
        );
        // Without a version, the read is of whatever is there.
        assert!(store.read_range("in", "a.csv", None, 0, 5).is_ok());
    }

    #[test]
    fn commit_makes_visible_and_drop_discards() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(HashMap::from([(
            "out".to_string(),
            dir.path().to_path_buf(),
        )]));
        let mut sink = store
            .write("out", "a/b.csv", PutOptions::default())
            .unwrap();
        sink.write_all(b"x").unwrap();
        assert!(!dir.path().join("a/b.csv").exists());
        sink.commit().unwrap();
        assert_eq!(std::fs::read(dir.path().join("a/b.csv")).unwrap(), b"x");
        let mut sink = store
            .write("out", "a/c.csv", PutOptions::default())
            .unwrap();
        sink.write_all(b"partial").unwrap();
        drop(sink);
        assert_eq!(
            std::fs::read_dir(dir.path().join("a")).unwrap().count(),
            1,
            "nothing left behind"
        );
    }

    #[test]
    fn keys_cannot_escape_and_buckets_must_be_known() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(HashMap::from([(
            "in".to_string(),
            dir.path().to_path_buf(),
        )]));
        assert!(store.read("in", "../etc/passwd").is_err());
        assert!(store.read("other", "x").is_err());
    }
}
