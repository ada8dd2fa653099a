"""ECR: images made known to the emulator (--ecr-image, POST /_emulator/ecr-images), so
that DescribeImages finds them; the rest of ECR is moto's own."""

from __future__ import annotations

import hashlib
import json
import os
import re

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecr import models as ecr_models
from moto.ecr.exceptions import ImageNotFoundException

from .config import log

ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(.+)$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
# the references made known with --ecr-image or POST /_emulator/ecr-images, in order
ECR_IMAGES: list[str] = []


def emulator_account() -> str:
    """The account moto answers for (the same test credentials always map to it)."""
    return os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID


def parse_ecr_image(reference: str) -> tuple[str, str, str, str | None, str | None]:
    """(account, region, repository, tag, digest) of REPO[:TAG][@sha256:D], optionally
    prefixed by ACCOUNT.dkr.ecr.REGION.amazonaws.com/ (default: the emulator's account,
    us-east-1). A reference with neither tag nor digest means the tag "latest"."""
    account, region, rest = emulator_account(), "us-east-1", reference.strip()
    host = ECR_HOST.match(rest)
    if host:
        account, region, rest = host.group(1), host.group(2), host.group(3)
    elif "/" in rest and ("." in rest.split("/", 1)[0] or ":" in rest.split("/", 1)[0]):
        raise ValueError(f"{reference}: not an ECR image (registry {rest.split('/', 1)[0]})")
    if account != emulator_account():
        raise ValueError(f"{reference}: the registry must be the emulator's account {emulator_account()}")
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not DIGEST.match(digest):
            raise ValueError(f"{reference}: a digest is sha256: and 64 hex digits")
    tag = None
    name = rest
    if ":" in rest.rsplit("/", 1)[-1]:
        name, tag = rest.rsplit(":", 1)
    if not name or tag == "":
        raise ValueError(f"{reference}: cannot read the repository name")
    if tag is None and digest is None:
        tag = "latest"
    return account, region, name, tag, digest


def add_ecr_image(reference: str) -> None:
    """Create the repository if needed and push an image with this tag and/or digest
    (a made-up manifest; its digest is derived from the reference unless given)."""
    account, region, name, tag, digest = parse_ecr_image(reference)
    backend = ecr_models.ecr_backends[account][region]
    if name not in backend.repositories:
        backend.create_repository(name, None, None, None, "MUTABLE", [])
    repository = backend.repositories[name]
    try:
        # already known (a tag alone: under whatever digest it has)
        repository._get_image(tag, digest)
    except ImageNotFoundException:
        if digest is None:
            digest = "sha256:" + hashlib.sha256(f"{region}/{name}:{tag}".encode()).hexdigest()
        layer = "sha256:" + hashlib.sha256(digest.encode()).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1024, "digest": layer},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2048, "digest": layer}],
        }
        text = json.dumps(manifest)
        same = [image for image in repository.images if image.get_image_digest() == digest]
        if same and tag is not None:
            # the same image under one more tag
            text = same[0].image_manifest
        backend.put_image(name, text, tag, MANIFEST_TYPE, digest)
    if reference not in ECR_IMAGES:
        ECR_IMAGES.append(reference)
    log(f"ECR image {reference} known in {account}/{region}")
