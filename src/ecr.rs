//! The ECR image pre-flight: before anything is registered, ask ECR whether each new image
//! that lives in an ECR registry exists. A missing image or repository ends the run (exit
//! 15); any other failure to ask (no permission, network, throttling) is only a note, since
//! the deploy can still succeed.
//!
//! The [`Registry`] trait is the process boundary; [`verify`] and the parsing are pure.

use serde::Deserialize;

use crate::aws::{Aws, CallError, Failure};
use crate::error::Error;
use crate::filters;
use crate::image::{self, Pin};

/// The most tags `list-images` may return when a tag is missing (it pages on its own).
const MAX_LISTED_TAGS: u32 = 1000;
/// How many similar tags a missing tag's message suggests.
const CLOSEST_TAGS: usize = 3;

/// Which image of a repository is meant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImageId {
    Tag(String),
    Digest(String),
}

/// An image in an ECR registry: `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPO[:TAG|@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    /// The image as it was given, for messages.
    pub image: String,
    /// The registry id: the 12-digit account.
    pub account: String,
    pub region: String,
    /// The repository name inside the registry; may contain `/`.
    pub repository: String,
    pub id: ImageId,
}

impl EcrImage {
    /// Whether two references name the same image of the same registry.
    fn same_as(&self, other: &EcrImage) -> bool {
        (&self.account, &self.region, &self.repository, &self.id)
            == (&other.account, &other.region, &other.repository, &other.id)
    }
}

/// `ACCOUNT.dkr.ecr.REGION.amazonaws.com` or `.amazonaws.com.cn`: (account, region).
fn ecr_registry(host: &str) -> Option<(String, String)> {
    let host = host.to_ascii_lowercase();
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let (account, rest) = rest.split_once('.')?;
    let region = rest.strip_prefix("dkr.ecr.")?;
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let region_ok = region.starts_with(|c: char| c.is_ascii_lowercase())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (account_ok && region_ok).then(|| (account.to_string(), region.to_string()))
}

/// The ECR image an image reference names, or `None` when it is not in an ECR registry
/// (or is no valid reference at all: then there is nothing to ask ECR).
pub fn target(reference: &str) -> Option<EcrImage> {
    let parsed = image::parse(reference).ok()?;
    let (host, repository) = parsed.repository.split_once('/')?;
    let (account, region) = ecr_registry(host)?;
    let id = match parsed.pin {
        Pin::Untagged => ImageId::Tag("latest".into()),
        Pin::Tag(tag) => ImageId::Tag(tag),
        // The digest decides what runs.
        Pin::Digest(digest) | Pin::TagAndDigest { digest, .. } => ImageId::Digest(digest),
    };
    Some(EcrImage {
        image: reference.to_string(),
        account,
        region,
        repository: repository.to_string(),
        id,
    })
}

/// What ECR knows of an image that exists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ImageDetail {
    pub digest: Option<String>,
    pub tags: Vec<String>,
}

/// Where ECR is asked about images.
pub trait Registry {
    /// `describe-images` for one image: its details, or why there are none.
    fn describe_image(&self, target: &EcrImage) -> Result<ImageDetail, CallError>;
    /// Some tags of the image's repository (a bounded number), to suggest when a tag is
    /// missing. Only asked after a tag was found missing.
    fn tags(&self, target: &EcrImage) -> Result<Vec<String>, CallError>;
}

fn registry_args(target: &EcrImage) -> Vec<String> {
    vec![
        "--registry-id".into(),
        target.account.clone(),
        "--repository-name".into(),
        target.repository.clone(),
    ]
}

/// `--image-ids` in the CLI's shorthand: `imageTag=TAG` or `imageDigest=sha256:...`.
fn image_ids(id: &ImageId) -> String {
    match id {
        ImageId::Tag(tag) => format!("imageTag={tag}"),
        ImageId::Digest(digest) => format!("imageDigest={digest}"),
    }
}

fn unreadable(step: &str, e: &filters::FilterError) -> CallError {
    CallError::new(step, 255, e.to_string(), Failure::Unreadable)
}

impl Registry for Aws {
    fn describe_image(&self, target: &EcrImage) -> Result<ImageDetail, CallError> {
        let mut args = registry_args(target);
        args.extend(["--image-ids".into(), image_ids(&target.id)]);
        let answer = self.ecr("describe-images", &args, Some(&target.region))?;
        let step = "ecr describe-images";
        let detail: Option<ImageDetail> = filters::extract(&filters::ECR_IMAGE, &answer, &[])
            .map_err(|e| unreadable(step, &e))?;
        detail.ok_or_else(|| {
            let message = "the answer holds no image";
            CallError::new(step, 255, message, Failure::Unreadable)
        })
    }

    fn tags(&self, target: &EcrImage) -> Result<Vec<String>, CallError> {
        let mut args = registry_args(target);
        args.extend([
            "--filter".into(),
            "tagStatus=TAGGED".into(),
            "--max-items".into(),
            MAX_LISTED_TAGS.to_string(),
        ]);
        let answer = self.ecr("list-images", &args, Some(&target.region))?;
        filters::extract(&filters::ECR_IMAGE_TAGS, &answer, &[])
            .map_err(|e| unreadable("ecr list-images", &e))
    }
}

/// What ECR's answer means for the deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Found,
    ImageMissing,
    RepositoryMissing,
    /// Not known: the reason, for a note.
    Unknown(String),
}

fn classify(result: &Result<ImageDetail, CallError>) -> Answer {
    match result {
        Ok(_) => Answer::Found,
        Err(e) if e.message.contains("RepositoryNotFoundException") => Answer::RepositoryMissing,
        Err(e) if e.message.contains("ImageNotFoundException") => Answer::ImageMissing,
        Err(e) => Answer::Unknown(e.message.clone()),
    }
}

/// The outcome of the pre-flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every ECR image exists (or there was none to check).
    Ok,
    /// At least one image or repository does not exist: why, naming each.
    Missing(String),
    /// Some images could not be checked: one note each; the deploy goes on.
    Notes(Vec<String>),
}

impl Verdict {
    /// For the caller: the notes to print and go on with, or the error to end with (15).
    pub fn into_result(self) -> Result<Vec<String>, Error> {
        match self {
            Verdict::Ok => Ok(Vec::new()),
            Verdict::Notes(notes) => Ok(notes),
            Verdict::Missing(why) => Err(Error::ImageNotFound(why)),
        }
    }
}

/// Ask `registry` about every distinct ECR image among `images`; other images are not
/// checked (no call is made for them).
pub fn verify(registry: &dyn Registry, images: &[String]) -> Verdict {
    let mut targets: Vec<EcrImage> = Vec::new();
    for target in images.iter().filter_map(|i| target(i)) {
        if !targets.iter().any(|known| known.same_as(&target)) {
            targets.push(target);
        }
    }
    let mut missing = Vec::new();
    let mut notes = Vec::new();
    for target in &targets {
        match classify(&registry.describe_image(target)) {
            Answer::Found => {}
            Answer::ImageMissing => missing.push(image_missing(registry, target)),
            Answer::RepositoryMissing => missing.push(repository_missing(target)),
            Answer::Unknown(reason) => notes.push(format!(
                "could not check that image {} exists in ECR ({reason}); going on",
                target.image
            )),
        }
    }
    if !missing.is_empty() {
        return Verdict::Missing(missing.join("; "));
    }
    if notes.is_empty() {
        Verdict::Ok
    } else {
        Verdict::Notes(notes)
    }
}

fn repository_missing(target: &EcrImage) -> String {
    format!(
        "image {} cannot exist: ECR has no repository '{}' in registry {} ({})",
        target.image, target.repository, target.account, target.region
    )
}

fn image_missing(registry: &dyn Registry, target: &EcrImage) -> String {
    let ImageId::Tag(tag) = &target.id else {
        return format!(
            "image {} is not in ECR: repository '{}' has no image with that digest",
            target.image, target.repository
        );
    };
    let missing = format!(
        "image {} is not in ECR: repository '{}' has no tag '{tag}'",
        target.image, target.repository
    );
    // The suggestion is a courtesy: without it the message is still complete.
    let Ok(tags) = registry.tags(target) else {
        return missing;
    };
    let closest = closest_tags(tag, &tags);
    if closest.is_empty() {
        return missing;
    }
    format!("{missing} (closest tags: {})", closest.join(", "))
}

/// Up to [`CLOSEST_TAGS`] of `tags` most like `wanted`, most alike first, ties by name.
fn closest_tags(wanted: &str, tags: &[String]) -> Vec<String> {
    let mut ranked: Vec<(usize, &String)> = tags
        .iter()
        .filter(|t| t.as_str() != wanted)
        .map(|t| (edit_distance(wanted, t), t))
        .collect();
    ranked.sort();
    ranked.dedup();
    ranked
        .into_iter()
        .take(CLOSEST_TAGS)
        .map(|(_, t)| t.clone())
        .collect()
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    const HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

    fn digest() -> String {
        format!("sha256:{}", "a".repeat(64))
    }

    #[test]
    fn ecr_images_are_recognised_by_their_registry() {
        let web = target(&format!("{HOST}/team/web:1.4.2")).unwrap();
        assert_eq!(
            (web.account.as_str(), web.region.as_str()),
            ("123456789012", "eu-west-1")
        );
        assert_eq!(web.repository, "team/web");
        assert_eq!(web.id, ImageId::Tag("1.4.2".into()));

        let untagged = target(&format!("{HOST}/web")).unwrap();
        assert_eq!(untagged.id, ImageId::Tag("latest".into()));

        let pinned = target(&format!("{HOST}/web:1.4.2@{}", digest())).unwrap();
        assert_eq!(pinned.id, ImageId::Digest(digest()));

        let china = target("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web:1").unwrap();
        assert_eq!(china.region, "cn-north-1");
    }

    #[test]
    fn other_registries_are_not_ecr() {
        for image in [
            "nginx:1",
            "library/nginx",
            "public.ecr.aws/nginx/nginx:1",
            "registry.example.com:5000/team/web:1",
            "12345678901.dkr.ecr.eu-west-1.amazonaws.com/web:1",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com:443/web:1",
            "123456789012.dkr.ecr.eu-west-1.example.com/web:1",
            "123456789012.dkr.ecr..amazonaws.com/web:1",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/Web:1",
        ] {
            assert_eq!(target(image), None, "{image}");
        }
    }

    /// A registry that knows some images, by (repository, tag or digest); an unknown
    /// repository or image fails as ECR does; `denied` fails every call.
    #[derive(Default)]
    struct Known {
        repositories: Vec<(&'static str, Vec<&'static str>)>,
        denied: bool,
        calls: RefCell<Vec<String>>,
    }

    fn fail(exception: &str) -> CallError {
        let message = format!(
            "An error occurred ({exception}) when calling the DescribeImages operation: ..."
        );
        CallError::new("ecr describe-images", 254, message, Failure::Fatal)
    }

    impl Registry for Known {
        fn describe_image(&self, target: &EcrImage) -> Result<ImageDetail, CallError> {
            let id = match &target.id {
                ImageId::Tag(t) | ImageId::Digest(t) => t.clone(),
            };
            self.calls.borrow_mut().push(format!(
                "describe {}:{id} in {}",
                target.repository, target.region
            ));
            if self.denied {
                return Err(fail("AccessDeniedException"));
            }
            let Some((_, ids)) = self
                .repositories
                .iter()
                .find(|(name, _)| *name == target.repository)
            else {
                return Err(fail("RepositoryNotFoundException"));
            };
            if !ids.contains(&id.as_str()) {
                return Err(fail("ImageNotFoundException"));
            }
            Ok(ImageDetail {
                digest: Some(digest()),
                tags: vec![id],
            })
        }

        fn tags(&self, target: &EcrImage) -> Result<Vec<String>, CallError> {
            self.calls
                .borrow_mut()
                .push(format!("tags of {}", target.repository));
            let (_, ids) = self
                .repositories
                .iter()
                .find(|(name, _)| *name == target.repository)
                .expect("asked only for an existing repository");
            Ok(ids.iter().map(ToString::to_string).collect())
        }
    }

    fn web() -> Known {
        Known {
            repositories: vec![("web", vec!["1.4.0", "1.4.1", "1.4.2", "2.0.0", "latest"])],
            ..Known::default()
        }
    }

    fn images(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn existing_images_pass_and_other_registries_are_not_asked() {
        let registry = web();
        let verdict = verify(
            &registry,
            &images(&[
                &format!("{HOST}/web:1.4.2"),
                "nginx:1",
                &format!("{HOST}/web:1.4.2"),
                &format!("{HOST}/web"),
            ]),
        );
        assert_eq!(verdict, Verdict::Ok);
        assert_eq!(
            *registry.calls.borrow(),
            [
                "describe web:1.4.2 in eu-west-1",
                "describe web:latest in eu-west-1"
            ]
        );
        assert_eq!(verdict.into_result().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_missing_tag_names_the_image_and_the_closest_tags() {
        let registry = web();
        let image = format!("{HOST}/web:1.4.3");
        let Verdict::Missing(why) = verify(&registry, &images(&[&image])) else {
            panic!("missing expected");
        };
        assert!(why.contains(&image), "{why}");
        assert!(why.contains("closest tags: 1.4.0, 1.4.1, 1.4.2"), "{why}");
        let error = Verdict::Missing(why).into_result().unwrap_err();
        assert_eq!(error.exit_code(), 15);
    }

    #[test]
    fn a_missing_digest_or_repository_is_missing_without_listing_tags() {
        let registry = web();
        let by_digest = format!("{HOST}/web@sha256:{}", "b".repeat(64));
        let other_repo = format!("{HOST}/api:1");
        let Verdict::Missing(why) = verify(&registry, &images(&[&by_digest, &other_repo])) else {
            panic!("missing expected");
        };
        assert!(why.contains("no image with that digest"), "{why}");
        assert!(why.contains("no repository 'api'"), "{why}");
        assert!(
            registry
                .calls
                .borrow()
                .iter()
                .all(|c| !c.starts_with("tags")),
            "{:?}",
            registry.calls.borrow()
        );
    }

    #[test]
    fn a_failure_to_ask_is_a_note() {
        let registry = Known {
            denied: true,
            ..web()
        };
        let image = format!("{HOST}/web:1.4.2");
        let Verdict::Notes(notes) = verify(&registry, &images(&[&image])) else {
            panic!("notes expected");
        };
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains(&image), "{notes:?}");
        assert!(notes[0].contains("AccessDeniedException"), "{notes:?}");
    }

    #[test]
    fn closest_tags_are_ranked_by_edit_distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("v1.2", "v1.2"), 0);
        let tags = images(&["main", "v1.10", "v1.2", "v2.1", "latest"]);
        assert_eq!(closest_tags("v1.1", &tags), ["v1.10", "v1.2", "v2.1"]);
    }

    #[test]
    fn describe_arguments() {
        let target = target(&format!("{HOST}/team/web@{}", digest())).unwrap();
        assert_eq!(
            registry_args(&target),
            [
                "--registry-id",
                "123456789012",
                "--repository-name",
                "team/web"
            ]
        );
        assert_eq!(image_ids(&target.id), format!("imageDigest={}", digest()));
        assert_eq!(image_ids(&ImageId::Tag("1".into())), "imageTag=1");
    }

    #[test]
    fn answers_are_read_by_the_filters() {
        let answer = serde_json::json!({"imageDetails": [{"imageDigest": "sha256:1",
            "imageTags": ["a", "b"], "imagePushedAt": 1.0}]});
        let detail: Option<ImageDetail> =
            filters::extract(&filters::ECR_IMAGE, &answer, &[]).unwrap();
        assert_eq!(
            detail,
            Some(ImageDetail {
                digest: Some("sha256:1".into()),
                tags: images(&["a", "b"])
            })
        );
        let none: Option<ImageDetail> =
            filters::extract(&filters::ECR_IMAGE, &serde_json::json!({}), &[]).unwrap();
        assert_eq!(none, None);
        let listed = serde_json::json!({"imageIds": [{"imageTag": "a", "imageDigest": "x"},
            {"imageDigest": "y"}], "NextToken": "t"});
        let tags: Vec<String> = filters::extract(&filters::ECR_IMAGE_TAGS, &listed, &[]).unwrap();
        assert_eq!(tags, ["a"]);
    }
}
