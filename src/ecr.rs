//! The ECR image pre-flight: before anything is registered, ask ECR whether each new image
//! that lives in an ECR registry exists. A missing image or repository ends the run (exit
//! 15); any other failure to ask (no permission, network, throttling, no answer within the
//! check's budget) is only a note, since the deploy can still succeed.
//!
//! One `describe-images` call per repository asks about all of its images, the
//! repositories at the same time, all within one budget. The [`Registry`] trait is the
//! process boundary; [`verify`] and the parsing are pure.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::aws::{self, Aws, CallError, Failure};
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

/// A repository of an ECR registry: what one `describe-images` call can ask about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository {
    /// The registry id: the 12-digit account.
    pub account: String,
    pub region: String,
    /// The repository name inside the registry; may contain `/`.
    pub name: String,
}

/// An image in an ECR registry: `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPO[:TAG|@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    /// The image as it was given, for messages.
    pub image: String,
    pub repository: Repository,
    pub id: ImageId,
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
        repository: Repository {
            account,
            region,
            name: repository.to_string(),
        },
        id,
    })
}

/// What ECR knows of an image that exists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ImageDetail {
    pub digest: Option<String>,
    pub tags: Vec<String>,
}

impl ImageDetail {
    fn is(&self, id: &ImageId) -> bool {
        match id {
            ImageId::Tag(tag) => self.tags.contains(tag),
            ImageId::Digest(digest) => self.digest.as_ref() == Some(digest),
        }
    }
}

/// How long the whole check may take, and the flag that abandons it (raised when its
/// verdict is no longer wanted, e.g. the run has already failed): its calls are killed
/// then, and no new one starts.
#[derive(Debug, Clone)]
pub struct Budget {
    pub started: Instant,
    pub length: Duration,
    pub abandon: Arc<AtomicBool>,
}

impl Budget {
    fn deadline(&self) -> Instant {
        self.started + self.length
    }

    /// How long the check was given: its budget, or less when it was abandoned sooner.
    fn waited(&self) -> Duration {
        if self.abandon.load(Ordering::SeqCst) {
            return self.started.elapsed().min(self.length);
        }
        self.length
    }

    /// No further call may start.
    fn spent(&self) -> bool {
        self.abandon.load(Ordering::SeqCst) || Instant::now() >= self.deadline()
    }
}

/// Where ECR is asked about images.
pub trait Registry {
    /// One `describe-images` call for `ids` of `repository`: the images found, or why
    /// there are none. As ECR does, one id that does not exist fails the whole call.
    fn describe_images(
        &self,
        repository: &Repository,
        ids: &[&ImageId],
        deadline: Instant,
    ) -> Result<Vec<ImageDetail>, CallError>;
    /// Some tags of the repository (a bounded number), to suggest when a tag is missing.
    /// Only asked after a tag was found missing.
    fn tags(&self, repository: &Repository, deadline: Instant) -> Result<Vec<String>, CallError>;
}

fn registry_args(repository: &Repository) -> Vec<String> {
    vec![
        "--registry-id".into(),
        repository.account.clone(),
        "--repository-name".into(),
        repository.name.clone(),
    ]
}

/// One `--image-ids` item in the CLI's shorthand: `imageTag=TAG` or `imageDigest=sha256:...`.
fn image_id_arg(id: &ImageId) -> String {
    match id {
        ImageId::Tag(tag) => format!("imageTag={tag}"),
        ImageId::Digest(digest) => format!("imageDigest={digest}"),
    }
}

/// `describe-images` arguments asking for every id of `ids` in one call.
fn describe_args(repository: &Repository, ids: &[&ImageId]) -> Vec<String> {
    let mut args = registry_args(repository);
    args.push("--image-ids".into());
    args.extend(ids.iter().map(|id| image_id_arg(id)));
    args
}

fn unreadable(step: &str, e: &filters::FilterError) -> CallError {
    CallError::new(step, 255, e.to_string(), Failure::Unreadable)
}

impl Registry for Aws {
    fn describe_images(
        &self,
        repository: &Repository,
        ids: &[&ImageId],
        deadline: Instant,
    ) -> Result<Vec<ImageDetail>, CallError> {
        let args = describe_args(repository, ids);
        let region = Some(repository.region.as_str());
        let answer = self.ecr("describe-images", &args, region, deadline)?;
        filters::extract(&filters::ECR_IMAGES, &answer, &[])
            .map_err(|e| unreadable("ecr describe-images", &e))
    }

    fn tags(&self, repository: &Repository, deadline: Instant) -> Result<Vec<String>, CallError> {
        let mut args = registry_args(repository);
        args.extend([
            "--filter".into(),
            "tagStatus=TAGGED".into(),
            "--max-items".into(),
            MAX_LISTED_TAGS.to_string(),
        ]);
        let answer = self.ecr("list-images", &args, Some(&repository.region), deadline)?;
        filters::extract(&filters::ECR_IMAGE_TAGS, &answer, &[])
            .map_err(|e| unreadable("ecr list-images", &e))
    }
}

/// What one `describe-images` call says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Found(Vec<ImageDetail>),
    /// One of the ids asked for does not exist: ECR's message, which names it.
    ImageMissing(String),
    RepositoryMissing,
    /// Cut short by the budget (or abandoned).
    CutShort,
    /// Not known: the reason, for a note.
    Failed(String),
}

fn classify(result: Result<Vec<ImageDetail>, CallError>) -> Answer {
    match result {
        Ok(details) => Answer::Found(details),
        Err(e) if e.kind == Failure::Deadline => Answer::CutShort,
        Err(e) if e.message.contains("RepositoryNotFoundException") => Answer::RepositoryMissing,
        Err(e) if e.message.contains("ImageNotFoundException") => Answer::ImageMissing(e.message),
        Err(e) => Answer::Failed(e.message),
    }
}

/// Whether ECR's ImageNotFound message names `id` (it quotes the id it did not find:
/// `imageTag:'TAG'` or `imageDigest:'sha256:...'`).
fn names_id(message: &str, id: &ImageId) -> bool {
    let quoted = match id {
        ImageId::Tag(tag) => format!("imageTag:'{tag}'"),
        ImageId::Digest(digest) => format!("imageDigest:'{digest}'"),
    };
    message.contains(&quoted)
}

/// What the check found out about one image.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Finding {
    Found,
    /// It does not exist: why, naming it.
    Missing(String),
    /// It could not be checked: a note naming it.
    Unverified(String),
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

/// Ask `registry` about every distinct ECR image among `images`, within `budget`: one
/// call per repository, the repositories at the same time, each on a thread of its own
/// whose calls end when the budget is abandoned. Other images are not checked (no call
/// is made for them).
pub fn verify(registry: &(dyn Registry + Sync), images: &[String], budget: &Budget) -> Verdict {
    let mut repositories: Vec<Vec<EcrImage>> = Vec::new();
    for target in images.iter().filter_map(|i| target(i)) {
        let known = |image: &EcrImage| image.repository == target.repository;
        match repositories.iter_mut().find(|group| known(&group[0])) {
            Some(group) if group.iter().any(|image| image.id == target.id) => {}
            Some(group) => group.push(target),
            None => repositories.push(vec![target]),
        }
    }
    let findings: Vec<Vec<Finding>> = std::thread::scope(|scope| {
        let checks: Vec<_> = repositories
            .iter()
            .map(|images| {
                scope.spawn(move || {
                    aws::abandon_calls_when(Arc::clone(&budget.abandon));
                    check_repository(registry, images, budget)
                })
            })
            .collect();
        checks
            .into_iter()
            .map(|check| {
                check
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
            })
            .collect()
    });
    let mut missing = Vec::new();
    let mut notes = Vec::new();
    for finding in findings.into_iter().flatten() {
        match finding {
            Finding::Found => {}
            Finding::Missing(why) => missing.push(why),
            Finding::Unverified(note) => notes.push(note),
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

/// What ECR says about `images`, all of one repository, in as few calls as it allows:
/// one, unless some are missing. ECR then refuses the whole call naming one missing id,
/// and the others are asked again; a refusal that names none of them is narrowed down by
/// asking one at a time.
fn check_repository(registry: &dyn Registry, images: &[EcrImage], budget: &Budget) -> Vec<Finding> {
    let repository = &images[0].repository;
    let mut findings: Vec<Option<Finding>> = vec![None; images.len()];
    let mut open: Vec<usize> = (0..images.len()).collect();
    let mut one_at_a_time = false;
    while let Some(&first) = open.first() {
        let asked = if one_at_a_time {
            vec![first]
        } else {
            open.clone()
        };
        let answer = if budget.spent() {
            Answer::CutShort
        } else {
            let ids: Vec<&ImageId> = asked.iter().map(|&i| &images[i].id).collect();
            classify(registry.describe_images(repository, &ids, budget.deadline()))
        };
        let Some(settled) = settle(answer, &asked, images, registry, budget) else {
            one_at_a_time = true;
            continue;
        };
        for (i, finding) in settled {
            findings[i] = Some(finding);
            open.retain(|&o| o != i);
        }
    }
    findings.into_iter().flatten().collect()
}

/// What `answer` says about the images `asked` (indices into `images`); `None` when ECR
/// refused the call without saying which of them is missing.
fn settle(
    answer: Answer,
    asked: &[usize],
    images: &[EcrImage],
    registry: &dyn Registry,
    budget: &Budget,
) -> Option<Vec<(usize, Finding)>> {
    let each = |finding: &dyn Fn(&EcrImage) -> Finding| {
        asked.iter().map(|&i| (i, finding(&images[i]))).collect()
    };
    let settled = match answer {
        Answer::ImageMissing(message) => {
            let named = match asked {
                [only] => *only,
                _ => *asked.iter().find(|&&i| names_id(&message, &images[i].id))?,
            };
            let why = image_missing(registry, &images[named], budget);
            vec![(named, Finding::Missing(why))]
        }
        Answer::RepositoryMissing => each(&|image| Finding::Missing(repository_missing(image))),
        Answer::Found(details) => each(&|image| {
            if details.iter().any(|d| d.is(&image.id)) {
                return Finding::Found;
            }
            Finding::Unverified(unverified(image, "ECR's answer does not mention it"))
        }),
        Answer::CutShort => each(&|image| {
            Finding::Unverified(format!(
                "could not verify {}: no answer within {} s",
                image.image,
                budget.waited().as_secs_f64().round()
            ))
        }),
        Answer::Failed(reason) => each(&|image| Finding::Unverified(unverified(image, &reason))),
    };
    Some(settled)
}

fn unverified(image: &EcrImage, reason: &str) -> String {
    format!(
        "could not check that image {} exists in ECR ({reason}); going on",
        image.image
    )
}

fn repository_missing(target: &EcrImage) -> String {
    let repository = &target.repository;
    format!(
        "image {} cannot exist: ECR has no repository '{}' in registry {} ({})",
        target.image, repository.name, repository.account, repository.region
    )
}

fn image_missing(registry: &dyn Registry, target: &EcrImage, budget: &Budget) -> String {
    let repository = &target.repository;
    let ImageId::Tag(tag) = &target.id else {
        return format!(
            "image {} is not in ECR: repository '{}' has no image with that digest",
            target.image, repository.name
        );
    };
    let missing = format!(
        "image {} is not in ECR: repository '{}' has no tag '{tag}'",
        target.image, repository.name
    );
    // The suggestion is a courtesy: without it (or without time left for it) the message
    // is still complete.
    if budget.spent() {
        return missing;
    }
    let Ok(tags) = registry.tags(repository, budget.deadline()) else {
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
    use std::sync::Mutex;

    const HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    const OTHER_REGION: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn digest() -> String {
        format!("sha256:{}", "a".repeat(64))
    }

    #[test]
    fn ecr_images_are_recognised_by_their_registry() {
        let web = target(&format!("{HOST}/team/web:1.4.2")).unwrap();
        assert_eq!(
            web.repository,
            Repository {
                account: "123456789012".into(),
                region: "eu-west-1".into(),
                name: "team/web".into()
            }
        );
        assert_eq!(web.id, ImageId::Tag("1.4.2".into()));

        let untagged = target(&format!("{HOST}/web")).unwrap();
        assert_eq!(untagged.id, ImageId::Tag("latest".into()));

        let pinned = target(&format!("{HOST}/web:1.4.2@{}", digest())).unwrap();
        assert_eq!(pinned.id, ImageId::Digest(digest()));

        let china = target("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web:1").unwrap();
        assert_eq!(china.repository.region, "cn-north-1");
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

    /// How the fake registry answers every call.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Mode {
        /// As ECR does: the images it knows, the first missing id named in the refusal.
        Ecr,
        /// As ECR does, but a refusal names no id.
        Terse,
        Denied,
        /// Cut short at the deadline.
        Silent,
    }

    /// A registry that knows some images, by (repository, tags or digests), and records
    /// each call.
    struct Known {
        repositories: Vec<(&'static str, Vec<&'static str>)>,
        mode: Mode,
        calls: Mutex<Vec<String>>,
    }

    fn fail(exception: &str, message: &str) -> CallError {
        let message = format!(
            "An error occurred ({exception}) when calling the DescribeImages operation: {message}"
        );
        CallError::new("ecr describe-images", 254, message, Failure::Fatal)
    }

    fn id_text(id: &ImageId) -> &str {
        match id {
            ImageId::Tag(t) | ImageId::Digest(t) => t,
        }
    }

    impl Known {
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Registry for Known {
        fn describe_images(
            &self,
            repository: &Repository,
            ids: &[&ImageId],
            _deadline: Instant,
        ) -> Result<Vec<ImageDetail>, CallError> {
            let asked: Vec<&str> = ids.iter().map(|id| id_text(id)).collect();
            self.calls.lock().unwrap().push(format!(
                "describe {}:{} in {}",
                repository.name,
                asked.join(","),
                repository.region
            ));
            match self.mode {
                Mode::Denied => return Err(fail("AccessDeniedException", "not authorized")),
                Mode::Silent => {
                    let stopped = "stopped at the deadline";
                    return Err(CallError::new("x", 255, stopped, Failure::Deadline));
                }
                Mode::Ecr | Mode::Terse => {}
            }
            let Some((_, known)) = self
                .repositories
                .iter()
                .find(|(name, _)| *name == repository.name)
            else {
                return Err(fail("RepositoryNotFoundException", "no such repository"));
            };
            if let Some(id) = ids.iter().find(|id| !known.contains(&id_text(id))) {
                let message = match (self.mode, id) {
                    (Mode::Terse, _) => "The image does not exist".to_string(),
                    (_, ImageId::Tag(tag)) => {
                        format!("The image with imageId {{imageDigest:'null', imageTag:'{tag}'}}")
                    }
                    (_, ImageId::Digest(d)) => {
                        format!("The image with imageId {{imageDigest:'{d}', imageTag:'null'}}")
                    }
                };
                return Err(fail("ImageNotFoundException", &message));
            }
            Ok(asked
                .iter()
                .map(|id| ImageDetail {
                    digest: Some(digest()),
                    tags: vec![id.to_string()],
                })
                .collect())
        }

        fn tags(
            &self,
            repository: &Repository,
            _deadline: Instant,
        ) -> Result<Vec<String>, CallError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("tags of {}", repository.name));
            let (_, ids) = self
                .repositories
                .iter()
                .find(|(name, _)| *name == repository.name)
                .expect("asked only for an existing repository");
            Ok(ids.iter().map(ToString::to_string).collect())
        }
    }

    fn registry(mode: Mode) -> Known {
        Known {
            repositories: vec![
                ("web", vec!["1.4.0", "1.4.1", "1.4.2", "2.0.0", "latest"]),
                ("worker", vec!["7"]),
            ],
            mode,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn images(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    fn budget() -> Budget {
        Budget {
            started: Instant::now(),
            length: Duration::from_secs(10),
            abandon: Arc::new(AtomicBool::new(false)),
        }
    }

    fn check(registry: &Known, list: &[&str]) -> Verdict {
        verify(registry, &images(list), &budget())
    }

    #[test]
    fn the_images_of_one_repository_are_asked_for_in_one_call() {
        let registry = registry(Mode::Ecr);
        let verdict = check(
            &registry,
            &[
                &format!("{HOST}/web:1.4.2"),
                "nginx:1",
                &format!("{HOST}/web:1.4.2"),
                &format!("{HOST}/web"),
            ],
        );
        assert_eq!(verdict, Verdict::Ok);
        assert_eq!(registry.calls(), ["describe web:1.4.2,latest in eu-west-1"]);
        assert_eq!(verdict.into_result().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn each_repository_is_asked_once_in_its_own_region() {
        let registry = registry(Mode::Ecr);
        let verdict = check(
            &registry,
            &[
                &format!("{HOST}/web:1.4.2"),
                &format!("{HOST}/worker:7"),
                // The same name in another region is another repository.
                &format!("{OTHER_REGION}/web:2.0.0"),
            ],
        );
        assert_eq!(verdict, Verdict::Ok);
        let mut calls = registry.calls();
        calls.sort();
        assert_eq!(
            calls,
            [
                "describe web:1.4.2 in eu-west-1",
                "describe web:2.0.0 in us-east-1",
                "describe worker:7 in eu-west-1",
            ]
        );
    }

    #[test]
    fn no_ecr_image_no_call() {
        let registry = registry(Mode::Ecr);
        assert_eq!(check(&registry, &["nginx:1"]), Verdict::Ok);
        assert!(registry.calls().is_empty());
    }

    #[test]
    fn a_missing_tag_names_the_image_and_the_closest_tags() {
        let registry = registry(Mode::Ecr);
        let image = format!("{HOST}/web:1.4.3");
        let Verdict::Missing(why) = check(&registry, &[&image]) else {
            panic!("missing expected");
        };
        assert!(why.contains(&image), "{why}");
        assert!(why.contains("closest tags: 1.4.0, 1.4.1, 1.4.2"), "{why}");
        let error = Verdict::Missing(why).into_result().unwrap_err();
        assert_eq!(error.exit_code(), 15);
    }

    #[test]
    fn a_missing_image_among_several_of_a_repository_is_named_and_the_rest_asked_again() {
        let registry = registry(Mode::Ecr);
        let missing = format!("{HOST}/web:9.9.9");
        let verdict = check(
            &registry,
            &[
                &format!("{HOST}/web:1.4.2"),
                &missing,
                &format!("{HOST}/web:2.0.0"),
            ],
        );
        let Verdict::Missing(why) = verdict else {
            panic!("missing expected: {verdict:?}");
        };
        assert!(
            why.starts_with(&format!("image {missing} is not in ECR")),
            "{why}"
        );
        assert!(!why.contains("1.4.2'") && !why.contains("2.0.0'"), "{why}");
        assert_eq!(
            registry.calls(),
            [
                "describe web:1.4.2,9.9.9,2.0.0 in eu-west-1",
                "tags of web",
                "describe web:1.4.2,2.0.0 in eu-west-1",
            ]
        );
    }

    #[test]
    fn a_refusal_that_names_no_image_is_narrowed_down_one_image_at_a_time() {
        let registry = registry(Mode::Terse);
        let missing = format!("{HOST}/web:9.9.9");
        let verdict = check(&registry, &[&format!("{HOST}/web:1.4.2"), &missing]);
        let Verdict::Missing(why) = verdict else {
            panic!("missing expected: {verdict:?}");
        };
        assert!(
            why.starts_with(&format!("image {missing} is not in ECR")),
            "{why}"
        );
        assert_eq!(
            registry.calls(),
            [
                "describe web:1.4.2,9.9.9 in eu-west-1",
                "describe web:1.4.2 in eu-west-1",
                "describe web:9.9.9 in eu-west-1",
                "tags of web",
            ]
        );
    }

    #[test]
    fn a_missing_digest_or_repository_is_missing_without_listing_tags() {
        let registry = registry(Mode::Ecr);
        let by_digest = format!("{HOST}/web@sha256:{}", "b".repeat(64));
        let other_repo = format!("{HOST}/api:1");
        let Verdict::Missing(why) = check(&registry, &[&by_digest, &other_repo]) else {
            panic!("missing expected");
        };
        assert!(why.contains("no image with that digest"), "{why}");
        assert!(why.contains("no repository 'api'"), "{why}");
        assert!(
            registry.calls().iter().all(|c| !c.starts_with("tags")),
            "{:?}",
            registry.calls()
        );
    }

    #[test]
    fn a_failure_to_ask_is_a_note() {
        let registry = registry(Mode::Denied);
        let image = format!("{HOST}/web:1.4.2");
        let Verdict::Notes(notes) = check(&registry, &[&image]) else {
            panic!("notes expected");
        };
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains(&image), "{notes:?}");
        assert!(notes[0].contains("AccessDeniedException"), "{notes:?}");
    }

    #[test]
    fn a_check_cut_short_by_its_budget_is_one_note_per_image() {
        let registry = registry(Mode::Silent);
        let web = format!("{HOST}/web:1.4.2");
        let worker = format!("{HOST}/worker:7");
        let Verdict::Notes(notes) = check(&registry, &[&web, &worker]) else {
            panic!("notes expected");
        };
        assert_eq!(
            notes,
            [
                format!("could not verify {web}: no answer within 10 s"),
                format!("could not verify {worker}: no answer within 10 s"),
            ]
        );
    }

    #[test]
    fn a_spent_or_abandoned_budget_makes_no_call() {
        let registry = registry(Mode::Ecr);
        let image = format!("{HOST}/web:1.4.2");
        let spent = Budget {
            length: Duration::ZERO,
            ..budget()
        };
        let verdict = verify(&registry, &images(&[&image]), &spent);
        assert_eq!(
            verdict,
            Verdict::Notes(vec![format!(
                "could not verify {image}: no answer within 0 s"
            )])
        );
        let abandoned = Budget {
            abandon: Arc::new(AtomicBool::new(true)),
            ..budget()
        };
        assert!(matches!(
            verify(&registry, &images(&[&image]), &abandoned),
            Verdict::Notes(_)
        ));
        assert!(registry.calls().is_empty(), "{:?}", registry.calls());
    }

    #[test]
    fn an_image_is_known_by_its_tag_or_digest() {
        let detail = ImageDetail {
            digest: Some(digest()),
            tags: vec!["1".into()],
        };
        let image = target(&format!("{HOST}/web:2")).unwrap();
        assert!(!detail.is(&image.id));
        assert!(detail.is(&ImageId::Digest(digest())));
        assert!(detail.is(&ImageId::Tag("1".into())));
    }

    #[test]
    fn ecr_messages_name_the_missing_id() {
        let message = "An error occurred (ImageNotFoundException) when calling the \
            DescribeImages operation: The image with imageId {imageDigest:'null', \
            imageTag:'1.4'} does not exist within the repository with name 'web'";
        assert!(names_id(message, &ImageId::Tag("1.4".into())));
        assert!(!names_id(message, &ImageId::Tag("1".into())));
        assert!(!names_id(message, &ImageId::Digest(digest())));
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
    fn describe_arguments_ask_for_every_id_in_one_call() {
        let target = target(&format!("{HOST}/team/web@{}", digest())).unwrap();
        let tag = ImageId::Tag("1".into());
        assert_eq!(
            describe_args(&target.repository, &[&target.id, &tag]),
            [
                "--registry-id",
                "123456789012",
                "--repository-name",
                "team/web",
                "--image-ids",
                &format!("imageDigest={}", digest()),
                "imageTag=1",
            ]
        );
    }

    #[test]
    fn answers_are_read_by_the_filters() {
        let answer = serde_json::json!({"imageDetails": [
            {"imageDigest": "sha256:1", "imageTags": ["a", "b"], "imagePushedAt": 1.0},
            {"imageDigest": "sha256:2"}]});
        let details: Vec<ImageDetail> =
            filters::extract(&filters::ECR_IMAGES, &answer, &[]).unwrap();
        assert_eq!(
            details,
            [
                ImageDetail {
                    digest: Some("sha256:1".into()),
                    tags: images(&["a", "b"])
                },
                ImageDetail {
                    digest: Some("sha256:2".into()),
                    tags: Vec::new()
                }
            ]
        );
        let none: Vec<ImageDetail> =
            filters::extract(&filters::ECR_IMAGES, &serde_json::json!({}), &[]).unwrap();
        assert_eq!(none, []);
        let listed = serde_json::json!({"imageIds": [{"imageTag": "a", "imageDigest": "x"},
            {"imageDigest": "y"}], "NextToken": "t"});
        let tags: Vec<String> = filters::extract(&filters::ECR_IMAGE_TAGS, &listed, &[]).unwrap();
        assert_eq!(tags, ["a"]);
    }
}
