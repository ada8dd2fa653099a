//! Image references: parsing `-i` the way the bash script accepts it, reading the images
//! already in a task definition, and deciding whether two images share a repository.

use std::fmt;

/// What follows the repository: nothing, `:tag` or `@sha256:digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    Untagged,
    Tag(String),
    Digest(String),
}

/// An image reference split into its repository (`[domain[:port]/]path/name`) and its pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub repository: String,
    pub pin: Pin,
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pin {
            Pin::Untagged => write!(f, "{}", self.repository),
            Pin::Tag(tag) => write!(f, "{}:{tag}", self.repository),
            Pin::Digest(digest) => write!(f, "{}@{digest}", self.repository),
        }
    }
}

/// How the new revision's images are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageChange {
    /// One image per repository (`-i`, repeatable).
    Images(Vec<ImageRef>),
    /// Every container keeps its repository and gets this tag (`-to`).
    TagOnly(String),
}

impl ImageChange {
    /// What `Using image name:` shows: each `-i` image, or the `-to` tag.
    pub fn shown(&self) -> Vec<String> {
        match self {
            ImageChange::Images(images) => images.iter().map(ToString::to_string).collect(),
            ImageChange::TagOnly(tag) => vec![tag.clone()],
        }
    }
}

/// Split any image string into repository and pin, without judging it: images already in a
/// task definition were accepted by ECS and must be read as they are.
pub fn split(image: &str) -> ImageRef {
    if let Some((repository, digest)) = image.split_once('@') {
        return ImageRef {
            repository: repository.to_string(),
            pin: Pin::Digest(digest.to_string()),
        };
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(colon) => {
            let colon = last_slash + colon;
            ImageRef {
                repository: image[..colon].to_string(),
                pin: Pin::Tag(image[colon + 1..].to_string()),
            }
        }
        None => ImageRef {
            repository: image.to_string(),
            pin: Pin::Untagged,
        },
    }
}

fn all_chars(text: &str, allowed: impl Fn(char) -> bool) -> bool {
    !text.is_empty() && text.chars().all(allowed)
}

fn is_tag(text: &str) -> bool {
    all_chars(text, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
    })
}

fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:")
        .is_some_and(|hex| all_chars(hex, |c| c.is_ascii_alphanumeric()))
}

fn is_domain(text: &str) -> bool {
    let (host, port) = match text.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    all_chars(host, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
    }) && port.is_none_or(|p| all_chars(p, |c| c.is_ascii_digit()))
}

fn is_path_component(text: &str) -> bool {
    all_chars(text, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
    })
}

/// Why the repository part of a `-i` value is not acceptable, if it is not.
fn repository_problem(repository: &str) -> Option<&'static str> {
    let parts: Vec<&str> = repository.split('/').collect();
    match parts.as_slice() {
        [""] => Some("the image name is empty"),
        [root] if !all_chars(root, |c| c.is_ascii_alphanumeric() || c == '-') => {
            Some("a name without a registry may only hold letters, digits and '-'")
        }
        [_] => None,
        [domain, ..] if !is_domain(domain) => {
            Some("the registry must look like host or host:port (digits)")
        }
        [_, rest @ ..] if !rest.iter().all(|p| is_path_component(p)) => {
            Some("each path part must be non-empty and hold only letters, digits, '.', '_' and '-'")
        }
        _ => None,
    }
}

/// Parse a `-i` value, accepting what the bash script accepts.
pub fn parse(image: &str) -> Result<ImageRef, String> {
    let reference = split(image);
    if let Some(problem) = repository_problem(&reference.repository) {
        return Err(problem.to_string());
    }
    match &reference.pin {
        Pin::Tag(tag) if !is_tag(tag) => Err(format!(
            "the tag '{tag}' may only hold letters, digits, '.', '_' and '-'"
        )),
        Pin::Digest(digest) if !is_digest(digest) => {
            Err(format!("the digest '{digest}' must look like sha256:HEX"))
        }
        _ => Ok(reference),
    }
}

/// Check a tag given with `-to` or through `-e VAR`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    if is_tag(tag) {
        Ok(())
    } else {
        Err(format!(
            "the tag '{tag}' may only hold letters, digits, '.', '_' and '-'"
        ))
    }
}

/// The script's tag rules: an image without a tag takes the value of `-e VAR` when that is
/// set and non-empty (replacing a digest), and otherwise `latest` unless it has a digest.
pub fn apply_tag_rules(reference: ImageRef, env_tag: Option<&str>) -> Result<ImageRef, String> {
    if matches!(reference.pin, Pin::Tag(_)) {
        return Ok(reference);
    }
    if let Some(tag) = env_tag.filter(|t| !t.is_empty()) {
        check_tag(tag)?;
        return Ok(ImageRef {
            pin: Pin::Tag(tag.to_string()),
            ..reference
        });
    }
    if reference.pin == Pin::Untagged {
        return Ok(ImageRef {
            pin: Pin::Tag("latest".into()),
            ..reference
        });
    }
    Ok(reference)
}

/// The repository in a canonical form, so that `nginx`, `library/nginx` and
/// `docker.io/library/nginx` compare equal, while `other/my-app` never equals `app`.
pub fn canonical_repository(repository: &str) -> String {
    let parts: Vec<&str> = repository.split('/').collect();
    let has_registry = parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost");
    let (registry, path) = if has_registry {
        (parts[0].to_ascii_lowercase(), parts[1..].to_vec())
    } else {
        ("docker.io".to_string(), parts)
    };
    let registry = match registry.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => registry,
    };
    let mut path = path.join("/");
    if registry == "docker.io" && !path.contains('/') {
        path = format!("library/{path}");
    }
    format!("{registry}/{path}")
}

pub fn same_repository(a: &str, b: &str) -> bool {
    canonical_repository(a) == canonical_repository(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(image: &str) -> String {
        apply_tag_rules(
            parse(image).unwrap_or_else(|e| panic!("{image}: {e}")),
            None,
        )
        .unwrap()
        .to_string()
    }

    #[test]
    fn accepts_what_the_script_accepts() {
        assert_eq!(ok("mariadb"), "mariadb:latest");
        assert_eq!(ok("mariadb:1.2.3"), "mariadb:1.2.3");
        assert_eq!(ok("my-db"), "my-db:latest");
        assert_eq!(ok("repo/image"), "repo/image:latest");
        assert_eq!(ok("repo/image:tag"), "repo/image:tag");
        assert_eq!(ok("repo/multi/level/image:1"), "repo/multi/level/image:1");
        assert_eq!(
            ok("domain.com:8080/repo/image:tag"),
            "domain.com:8080/repo/image:tag"
        );
        assert_eq!(
            ok("domain.com:8080/repo/image"),
            "domain.com:8080/repo/image:latest"
        );
        assert_eq!(
            ok("123456789012.dkr.ecr.us-east-1.amazonaws.com/web-app:1.0.0"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web-app:1.0.0"
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            ok(&format!("mariadb@{digest}")),
            format!("mariadb@{digest}")
        );
        assert_eq!(
            ok(&format!("repo/image@{digest}")),
            format!("repo/image@{digest}")
        );
    }

    #[test]
    fn rejects_what_the_script_rejects() {
        for bad in [
            "",
            "/x",
            "domain.com:abc/repo/image",
            "_x:tag",
            "a b",
            "repo/image:",
            "repo//image",
            "x@md5:1",
            "x:t@g",
            "a/b/",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn env_tag_fills_missing_tag_and_replaces_digest() {
        let digest = format!("repo/app@sha256:{}", "b".repeat(64));
        let with = |image: &str, env: Option<&str>| {
            apply_tag_rules(parse(image).unwrap(), env)
                .unwrap()
                .to_string()
        };
        assert_eq!(with("repo/app", Some("abc123")), "repo/app:abc123");
        assert_eq!(with(&digest, Some("abc123")), "repo/app:abc123");
        assert_eq!(with(&digest, None), digest);
        assert_eq!(with(&digest, Some("")), digest);
        assert_eq!(with("repo/app", Some("")), "repo/app:latest");
        assert_eq!(with("repo/app:1", Some("2")), "repo/app:1");
        assert!(apply_tag_rules(parse("repo/app").unwrap(), Some("bad tag")).is_err());
    }

    #[test]
    fn split_reads_existing_images() {
        assert_eq!(
            split("nginx"),
            ImageRef {
                repository: "nginx".into(),
                pin: Pin::Untagged
            }
        );
        assert_eq!(
            split("host:5000/a/b"),
            ImageRef {
                repository: "host:5000/a/b".into(),
                pin: Pin::Untagged
            }
        );
        assert_eq!(
            split("host:5000/a/b:1"),
            ImageRef {
                repository: "host:5000/a/b".into(),
                pin: Pin::Tag("1".into())
            }
        );
        assert_eq!(
            split("redis@sha256:ff"),
            ImageRef {
                repository: "redis".into(),
                pin: Pin::Digest("sha256:ff".into())
            }
        );
    }

    #[test]
    fn repository_comparison_is_structural() {
        assert!(same_repository("nginx", "docker.io/library/nginx"));
        assert!(same_repository(
            "library/nginx",
            "index.docker.io/library/nginx"
        ));
        assert!(same_repository("user/app", "docker.io/user/app"));
        assert!(same_repository(
            "Host.Example.com:5000/a",
            "host.example.com:5000/a"
        ));
        assert!(!same_repository("app", "other/my-app"));
        assert!(!same_repository("my-app", "other/my-app"));
        assert!(!same_repository("host:5000/a", "host:5001/a"));
        assert!(!same_repository("localhost/a", "a"));
    }
}
