//! Object URLs as the command line takes them: `s3://bucket/key`, `gs://bucket/key`,
//! `az://container/key`. Anything else is a local path.
use std::fmt;

/// Which service an [`ObjectUrl`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Amazon S3 or an S3-compatible server (`AWS_ENDPOINT_URL`).
    S3,
    /// Google Cloud Storage.
    Gcs,
    /// Azure Blob Storage.
    Azure,
}

impl Service {
    /// The URL scheme, without `://`.
    pub fn scheme(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Gcs => "gs",
            Service::Azure => "az",
        }
    }
}

/// A bucket (container) and a key in it. The key has no leading or trailing `/`; it may be
/// empty (the bucket's root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectUrl {
    /// The service.
    pub service: Service,
    /// Bucket (S3, GCS) or container (Azure).
    pub bucket: String,
    /// The object key, or the prefix of an output.
    pub key: String,
}

/// A string that starts like an object URL but is not a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadObjectUrl(pub String);

impl fmt::Display for BadObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadObjectUrl {}

impl ObjectUrl {
    /// `None` when `s` is not an object URL (a local path); an error when it starts with
    /// `s3://`, `gs://` or `az://` but names no bucket or has an empty path segment.
    pub fn parse(s: &str) -> Option<Result<ObjectUrl, BadObjectUrl>> {
        let (service, rest) = [Service::S3, Service::Gcs, Service::Azure]
            .into_iter()
            .find_map(|svc| {
                s.strip_prefix(svc.scheme())
                    .and_then(|r| r.strip_prefix("://"))
                    .map(|r| (svc, r))
            })?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let key = key.trim_end_matches('/');
        let bad = |why: &str| {
            Some(Err(BadObjectUrl(format!(
                "'{s}' is not a valid object URL: {why}"
            ))))
        };
        if bucket.is_empty() {
            return bad("it names no bucket");
        }
        if key.split('/').any(|p| p == "." || p == "..")
            || (!key.is_empty() && key.split('/').any(str::is_empty))
        {
            return bad("its key has an empty, '.' or '..' segment");
        }
        Some(Ok(ObjectUrl {
            service,
            bucket: bucket.to_string(),
            key: key.to_string(),
        }))
    }

    /// True when `s` starts with an object URL scheme.
    pub fn is_object_url(s: &str) -> bool {
        ObjectUrl::parse(s).is_some()
    }

    /// The URL of `name` under this key (`name` relative, `/`-separated).
    pub fn join(&self, name: &str) -> ObjectUrl {
        let key = if self.key.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.key)
        };
        ObjectUrl {
            key,
            ..self.clone()
        }
    }

    /// The last segment of the key (the bucket's name for the root).
    pub fn name(&self) -> &str {
        self.key
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.bucket)
    }

    /// True when both name the same bucket of the same service.
    pub fn same_bucket(&self, other: &ObjectUrl) -> bool {
        self.service == other.service && self.bucket == other.bucket
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.service.scheme(), self.bucket)?;
        if !self.key.is_empty() {
            write!(f, "/{}", self.key)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_urls_and_paths() {
        let u = ObjectUrl::parse("s3://b/titles/movie/").unwrap().unwrap();
        assert_eq!(
            (u.service, u.bucket.as_str(), u.key.as_str()),
            (Service::S3, "b", "titles/movie")
        );
        assert_eq!(u.to_string(), "s3://b/titles/movie");
        assert_eq!(
            u.join("master.m3u8").to_string(),
            "s3://b/titles/movie/master.m3u8"
        );
        assert_eq!(u.name(), "movie");
        let root = ObjectUrl::parse("gs://bucket").unwrap().unwrap();
        assert_eq!((root.key.as_str(), root.name()), ("", "bucket"));
        assert_eq!(
            ObjectUrl::parse("az://c/a.mp4").unwrap().unwrap().service,
            Service::Azure
        );
        assert!(ObjectUrl::parse("out/s3://x").is_none());
        assert!(ObjectUrl::parse("movie.mp4").is_none());
        assert!(ObjectUrl::parse("s3:///key").unwrap().is_err());
        assert!(ObjectUrl::parse("s3://b/a//c").unwrap().is_err());
        assert!(ObjectUrl::parse("s3://b/a/../c").unwrap().is_err());
    }
}
