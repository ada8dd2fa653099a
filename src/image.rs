//! Image references: parsing `-i` by the distribution grammar, reading the images already in
//! a task definition, and deciding whether two images share a repository.

use std::fmt;

/// What follows the repository: nothing, `:tag`, `@sha256:digest`, or both
/// (`:tag@sha256:digest`, e.g. a tag pinned to one digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    Untagged,
    Tag(String),
    Digest(String),
    /// The digest decides what runs; the tag is kept as written, for people to read.
    TagAndDigest {
        tag: String,
        digest: String,
    },
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
            Pin::TagAndDigest { tag, digest } => {
                write!(f, "{}:{tag}@{digest}", self.repository)
            }
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
/// task definition were accepted by ECS and must be read as they are. The digest starts at
/// the first `@`; the tag is what follows the last `:` after the last `/` before it, so a
/// registry port (`host:5000/app`) is never taken for a tag.
pub fn split(image: &str) -> ImageRef {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let (repository, tag) = split_tag(name);
    let pin = match (tag, digest) {
        (None, None) => Pin::Untagged,
        (Some(tag), None) => Pin::Tag(tag.to_string()),
        (None, Some(digest)) => Pin::Digest(digest.to_string()),
        (Some(tag), Some(digest)) => Pin::TagAndDigest {
            tag: tag.to_string(),
            digest: digest.to_string(),
        },
    };
    ImageRef {
        repository: repository.to_string(),
        pin,
    }
}

/// `name[:tag]` → (name, tag); the tag's `:` comes after the last `/`.
fn split_tag(name: &str) -> (&str, Option<&str>) {
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(colon) => {
            let colon = last_slash + colon;
            (&name[..colon], Some(&name[colon + 1..]))
        }
        None => (name, None),
    }
}

/// The longest tag the grammar allows.
pub const MAX_TAG_LEN: usize = 128;

/// The longest repository name (domain and path) the grammar allows.
pub const MAX_NAME_LEN: usize = 255;

/// A value as a reason shows it: whole when short, else its start and its length, so that a
/// reason stays one readable line whatever was given.
pub fn abbreviate(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        None => text.to_string(),
        Some((end, _)) => format!("{}... ({} characters)", &text[..end], text.chars().count()),
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", abbreviate(text))
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn tag_problem(tag: &str) -> Option<String> {
    let length = tag.chars().count();
    if tag.is_empty() {
        Some("the tag after ':' is empty".into())
    } else if length > MAX_TAG_LEN {
        Some(format!(
            "the tag is {length} characters long; at most {MAX_TAG_LEN} are allowed"
        ))
    } else if !tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        Some(format!(
            "the tag {} may only hold letters, digits, '_', '.' and '-'",
            quoted(tag)
        ))
    } else if tag.starts_with(['.', '-']) {
        Some(format!(
            "the tag {} must not start with '.' or '-'",
            quoted(tag)
        ))
    } else {
        None
    }
}

/// `sha256:` followed by exactly 64 lowercase hex characters.
fn digest_problem(digest: &str) -> Option<String> {
    let hex = digest.strip_prefix("sha256:");
    let valid = hex.is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    (!valid).then(|| {
        format!(
            "the digest {} must be 'sha256:' followed by 64 lowercase hex characters",
            quoted(digest)
        )
    })
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`: lowercase letters and digits, with single
/// separators (`.`, `_`, `__` or any number of `-`) between them.
fn is_path_component(text: &str) -> bool {
    let bytes = text.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        // A run of letters and digits...
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        // ...then one separator, and another run must follow.
        match bytes[i] {
            b'.' => i += 1,
            b'_' if bytes.get(i + 1) == Some(&b'_') => i += 2,
            b'_' => i += 1,
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// `[a-zA-Z0-9]` or `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn is_domain_component(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && !text.ends_with('-')
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `host[:port]`: a host name (dotted components, uppercase allowed) or `[IPv6]`, then an
/// optional port of digits.
fn is_domain(text: &str) -> bool {
    let bracketed = text.strip_prefix('[').and_then(|rest| rest.split_once(']'));
    let (host_ok, port) = match bracketed {
        Some((address, after)) => {
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(port) => Some(port),
                    None => return false,
                },
            };
            let ipv6 =
                !address.is_empty() && address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
            (ipv6, port)
        }
        None => {
            let (host, port) = match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            };
            (host.split('.').all(is_domain_component), port)
        }
    };
    host_ok && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The first component is a registry only when it looks like one: it holds `.` or `:`, or
/// is `localhost` (otherwise `team/app` would be read as registry `team`).
fn is_registry(component: &str) -> bool {
    component.contains(['.', ':']) || component == "localhost"
}

/// Why the repository part of a `-i` value is not acceptable, if it is not.
fn repository_problem(repository: &str) -> Option<String> {
    if repository.is_empty() {
        return Some("the image name is empty".into());
    }
    let length = repository.chars().count();
    if length > MAX_NAME_LEN {
        return Some(format!(
            "the repository name is {length} characters long; at most {MAX_NAME_LEN} are allowed"
        ));
    }
    let parts: Vec<&str> = repository.split('/').collect();
    let path = match parts.as_slice() {
        [domain, path @ ..] if !path.is_empty() && is_registry(domain) => {
            if !is_domain(domain) {
                return Some(format!(
                    "the registry {} must be a host name or [IPv6 address], with an optional :port of digits",
                    quoted(domain)
                ));
            }
            path
        }
        path => path,
    };
    if path.iter().any(|p| p.is_empty()) {
        return Some("the repository has an empty path component ('//', or '/' at an end)".into());
    }
    path.iter().find(|p| !is_path_component(p)).map(|p| {
        format!(
            "the repository path component {} must be lowercase letters and digits, \
             separated by '.', '_', '__' or dashes",
            quoted(p)
        )
    })
}

/// Parse a `-i` value by the distribution grammar:
/// `[domain[:port]/]path[:tag][@sha256:digest]`.
pub fn parse(image: &str) -> Result<ImageRef, String> {
    let reference = split(image);
    if let Some(problem) = repository_problem(&reference.repository) {
        return Err(problem);
    }
    let (tag, digest) = match &reference.pin {
        Pin::Untagged => (None, None),
        Pin::Tag(tag) => (Some(tag), None),
        Pin::Digest(digest) => (None, Some(digest)),
        Pin::TagAndDigest { tag, digest } => (Some(tag), Some(digest)),
    };
    if let Some(problem) = tag.and_then(|t| tag_problem(t)) {
        return Err(problem);
    }
    if let Some(problem) = digest.and_then(|d| digest_problem(d)) {
        return Err(problem);
    }
    Ok(reference)
}

/// Check a tag given with `-to` or through `-e VAR`, by the same grammar as a `-i` tag.
pub fn check_tag(tag: &str) -> Result<(), String> {
    tag_problem(tag).map_or(Ok(()), Err)
}

/// The script's tag rules: an image with a tag (digest or not) is kept as it is; one without
/// a tag takes the value of `-e VAR` when that is set and non-empty (replacing a digest), and
/// otherwise `latest` unless it has a digest.
pub fn apply_tag_rules(reference: ImageRef, env_tag: Option<&str>) -> Result<ImageRef, String> {
    if matches!(reference.pin, Pin::Tag(_) | Pin::TagAndDigest { .. }) {
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

    const FLUENT_BIT: &str = "public.ecr.aws/aws-observability/aws-for-fluent-bit";

    fn sha(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn tag_and_digest_together_are_one_reference() {
        let image = format!("{FLUENT_BIT}:stable@{}", sha('d'));
        let parsed = parse(&image).unwrap();
        assert_eq!(parsed.repository, FLUENT_BIT);
        assert_eq!(
            parsed.pin,
            Pin::TagAndDigest {
                tag: "stable".into(),
                digest: sha('d')
            }
        );
        assert_eq!(parsed.to_string(), image);
        // It has a tag: neither `latest` nor `-e VAR` touches it.
        assert_eq!(ok(&image), image);
        assert_eq!(
            apply_tag_rules(parsed.clone(), Some("build-7")).unwrap(),
            parsed
        );
        assert_eq!(
            ok(&format!(
                "registry.example.com:5000/team/tool:3.1@{}",
                sha('0')
            )),
            format!("registry.example.com:5000/team/tool:3.1@{}", sha('0'))
        );
    }

    #[test]
    fn split_reads_tag_and_digest_leniently() {
        assert_eq!(
            split(&format!("{FLUENT_BIT}:stable@{}", sha('e'))),
            ImageRef {
                repository: FLUENT_BIT.into(),
                pin: Pin::TagAndDigest {
                    tag: "stable".into(),
                    digest: sha('e')
                }
            }
        );
        // Whatever ECS accepted is read, even what `-i` would refuse.
        assert_eq!(
            split("host:5000/Team/App:t@whatever"),
            ImageRef {
                repository: "host:5000/Team/App".into(),
                pin: Pin::TagAndDigest {
                    tag: "t".into(),
                    digest: "whatever".into()
                }
            }
        );
        assert_eq!(split("host:5000@x").repository, "host");
        assert!(same_repository(
            &split(&format!("{FLUENT_BIT}:stable@{}", sha('e'))).repository,
            &parse(&format!("{FLUENT_BIT}:3.0")).unwrap().repository
        ));
    }

    #[test]
    fn accepts_the_distribution_grammar() {
        for good in [
            "a__b",
            "a--b",
            "a---b/c.d/e_f",
            "a.b-c",
            "0",
            "Registry.Example.COM:5000/a",
            "localhost/a",
            "localhost:5000/a:1",
            "127.0.0.1:5000/a/b",
            "[::1]:5000/a",
            "[fe80::1]/a:1",
            "a:_private",
            "a:V1.2-rc_3",
        ] {
            assert!(parse(good).is_ok(), "{good}: {:?}", parse(good));
        }
        let longest_tag = format!("app:{}", "t".repeat(MAX_TAG_LEN));
        assert!(parse(&longest_tag).is_ok());
        let longest_name = format!("a/{}", "b".repeat(MAX_NAME_LEN - 2));
        assert!(parse(&longest_name).is_ok());
    }

    #[test]
    fn rejects_what_the_distribution_grammar_rejects() {
        let huge_tag = format!("nginx:{}", "t".repeat(10_000));
        let long_tag = format!("nginx:{}", "t".repeat(MAX_TAG_LEN + 1));
        let long_name = format!("a/{}", "b".repeat(MAX_NAME_LEN - 1));
        let upper_hex = format!("nginx@sha256:{}", "A".repeat(64));
        let short_hex = format!("nginx@sha256:{}", "a".repeat(63));
        let long_hex = format!("nginx@sha256:{}", "a".repeat(65));
        let sha512 = format!("nginx@sha512:{}", "a".repeat(128));
        let bad_tag_with_digest = format!("nginx:-x@{}", sha('a'));
        for bad in [
            "nginx@sha256:ZZZZ",
            huge_tag.as_str(),
            long_tag.as_str(),
            long_name.as_str(),
            upper_hex.as_str(),
            short_hex.as_str(),
            long_hex.as_str(),
            sha512.as_str(),
            bad_tag_with_digest.as_str(),
            "-",
            "Nginx:1",
            "Team/app",
            "team/App",
            "a..b",
            "a._b",
            "a___b",
            "a_-b",
            "-a",
            "a-",
            ".a",
            "a_",
            "nginx:.hidden",
            "nginx:-x",
            "nginx@",
            "localhost:x/a",
            "do_main.com/a",
            "-domain.com/a",
            "domain-.com/a",
            "domain..com/a",
            "[::1/a",
            "[]:5000/a",
            "[::1]x/a",
            "[::1]:/a",
        ] {
            match parse(bad) {
                Ok(r) => panic!("{bad:?} should be rejected, got {r:?}"),
                Err(why) => {
                    assert_eq!(why.lines().count(), 1, "{why}");
                    assert!(why.len() < 200, "{why}");
                }
            }
        }
        assert!(
            parse(&huge_tag)
                .unwrap_err()
                .contains("10000 characters long")
        );
        assert!(parse("Nginx:1").unwrap_err().contains("'Nginx'"));
        assert!(parse("nginx@sha256:ZZZZ").unwrap_err().contains("64"));
    }

    #[test]
    fn tags_from_to_and_env_follow_the_same_grammar() {
        for good in ["1.2.3", "_x", "V1", &"t".repeat(MAX_TAG_LEN)] {
            assert!(check_tag(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".x",
            "-x",
            "a b",
            "a:b",
            "feature/x",
            &"t".repeat(MAX_TAG_LEN + 1),
        ] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
        assert!(apply_tag_rules(parse("repo/app").unwrap(), Some("-rc")).is_err());
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
