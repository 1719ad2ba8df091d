"""Opening object stores from URLs: ``s3://``, ``gs://``, ``az://``, ``http://`` and ``https://``.

:func:`open_object_store` turns a URL and its ``storage_options`` into a checked
:class:`~zarrkit.storage.object.ObjectStore`: it builds the obstore store for the scheme (with
credentials from the options, the environment or an AWS profile, and a retry configuration merged
over :data:`~zarrkit.storage.object.DEFAULT_RETRY_CONFIG`). Importing this module registers it as
the opener of those schemes with :func:`zarrkit.storage.url.register_protocol`, so
:func:`zarrkit.storage.open_store` opens them. obstore is imported on first use.
"""

from __future__ import annotations

import asyncio
import os
import re
import urllib.parse
from typing import Any

from zarrkit.errors import ReadOnlyError, StoreError, UnsupportedFeature
from zarrkit.runtime import io_loop, sync
from zarrkit.storage.base import Store
from zarrkit.storage.object import DEFAULT_RETRY_CONFIG, ObjectStore, describe_obstore_error, import_obstore
from zarrkit.storage.url import MODES, register_protocol

_BUCKET_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{1,253}[A-Za-z0-9]")
_SCHEMES = {"s3": "S3Store", "gs": "GCSStore", "az": "AzureStore", "http": "HTTPStore", "https": "HTTPStore"}
_ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT",
    "GOOGLE_BASE_URL",
    "AZURE_STORAGE_ENDPOINT",
)
_STORE_OPTIONS = ("forbidden_as_missing", "coalesce_gap", "coalesce_block", "max_concurrency")
_CLIENT_OPTIONS = ("client_options", "retry_config", "check_on_open")
# fsspec/s3fs spellings, so storage_options written for zarr-python's s3fs stores work unchanged.
_S3_ALIASES = {
    "anon": "anonymous",
    "key": "access_key_id",
    "secret": "secret_access_key",
    "token": "session_token",
    "endpoint_url": "endpoint",
    "region_name": "region",
}


def open_object_store(url: str, *, mode: str = "r", storage_options: dict[str, Any] | None = None) -> ObjectStore:
    """The ObjectStore a URL names, checked with one request unless ``check_on_open`` is False.

    ``s3://bucket/prefix``, ``gs://bucket/prefix``, ``az://container/prefix`` (the account from
    ``account_name`` or ``AZURE_STORAGE_ACCOUNT_NAME``) and ``http(s)://host/path``. Mode ``"r"``
    opens read-only; HTTP(S) is always read-only and refuses modes ``"w"`` and ``"w-"``.

    ``storage_options``:

    - the backend's own configuration, passed to obstore: for S3 ``endpoint``, ``region``,
      ``access_key_id``, ``secret_access_key``, ``session_token`` and the other ``S3Config`` keys
      (s3fs names ``key``, ``secret``, ``token``, ``endpoint_url``, ``region_name``, ``anon`` work
      too); ``GCSConfig`` keys for GCS; ``AzureConfig`` keys for Azure. Whatever is not given comes
      from the environment, as obstore reads it (``AWS_ACCESS_KEY_ID``, ``AWS_REGION``,
      ``AWS_ENDPOINT_URL``, web identity and instance credentials; ``GOOGLE_*``; ``AZURE_*``);
    - S3 ``profile``: take credentials and region from that profile of the AWS config files
      (``~/.aws/credentials``; needs boto3); ``AWS_PROFILE`` does the same when no keys are given;
    - ``anonymous`` (bool): send unsigned requests (public buckets);
    - ``client_options`` (obstore ``ClientConfig``: timeouts, headers, proxies); plain ``http://``
      endpoints are allowed without asking;
    - ``retry_config`` (obstore ``RetryConfig``), merged over :data:`DEFAULT_RETRY_CONFIG`;
    - ``forbidden_as_missing``, ``coalesce_gap``, ``coalesce_block``, ``max_concurrency``: see
      :class:`ObjectStore`;
    - ``check_on_open`` (default True): make one request now (:meth:`ObjectStore.check`); skipped
      when called from zarrkit's own I/O loop, which cannot wait for it.

    Raises StoreError naming the URL for a malformed URL or an option the backend does not know,
    ReadOnlyError for a writing mode over HTTP, UnsupportedFeature when obstore is not installed,
    and whatever :meth:`ObjectStore.check` raises.
    """
    if mode not in MODES:
        raise StoreError(f"invalid mode {mode!r} for {url!r}: use one of {MODES}")
    options = dict(storage_options or {})
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise StoreError(f"{url!r} is not an object store URL: use one of {', '.join(f'{s}://' for s in _SCHEMES)}")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise StoreError(f"malformed URL {url!r}: query strings and fragments are not supported")
    prefix = parts.path.strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise StoreError(f"malformed URL {url!r}: the path has empty, '.' or '..' segments")
    http = _SCHEMES[scheme] == "HTTPStore"
    if http and mode in ("w", "w-"):
        raise ReadOnlyError(f"cannot open {url!r} with mode {mode!r}: HTTP(S) stores are read-only")
    store_options = {name: options.pop(name) for name in _STORE_OPTIONS if name in options}
    check_on_open = options.pop("check_on_open", True)
    backend = _backend_for(url, scheme, parts, prefix, options)
    root = f"{scheme}://{parts.netloc}/{prefix}"
    store = ObjectStore(backend, url=root, read_only=mode == "r", **store_options)
    if check_on_open and not _on_io_loop():
        sync(store.check())
    return store


def _on_io_loop() -> bool:
    # Code already running on zarrkit's I/O loop cannot wait for the check there; its first
    # request reports what the check would have.
    try:
        return asyncio.get_running_loop() is io_loop()
    except RuntimeError:
        return False


def _backend_for(url: str, scheme: str, parts: urllib.parse.SplitResult, prefix: str, options: dict[str, Any]) -> Any:
    """The obstore store for a parsed URL; StoreError naming the URL when it cannot be built."""
    store_classes = import_obstore().store
    client_options = dict(options.pop("client_options", None) or {})
    retry_config = _merged_retry_config(url, options.pop("retry_config", None))
    endpoints = [options.get("endpoint"), options.get("endpoint_url")] + [
        os.environ.get(name) for name in _ENDPOINT_VARIABLES
    ]
    if scheme == "http" or any(str(endpoint).startswith("http://") for endpoint in endpoints if endpoint):
        client_options.setdefault("allow_http", True)
    common = {"client_options": client_options, "retry_config": retry_config}
    if _SCHEMES[scheme] == "HTTPStore":
        if not parts.hostname:
            raise StoreError(f"malformed URL {url!r}: no host")
        if options:
            raise StoreError(
                f"storage_options {sorted(options)} do not apply to {url!r}; HTTP takes "
                f"{sorted(_STORE_OPTIONS + _CLIENT_OPTIONS)}"
            )
        factory = store_classes.HTTPStore
        arguments: tuple[Any, ...] = (f"{scheme}://{parts.netloc}/{prefix}",)
    else:
        bucket = parts.netloc
        if not _BUCKET_PATTERN.fullmatch(bucket):
            raise StoreError(f"malformed URL {url!r}: {bucket!r} is not a bucket or container name")
        if scheme == "s3":
            options = {_S3_ALIASES.get(name, name): value for name, value in options.items()}
        if options.pop("anonymous", False):
            options["skip_signature"] = True
        if scheme == "s3":
            profile = _aws_profile(options)
            if profile is not None:
                common["credential_provider"] = _profile_credentials(url, profile)
        factory = getattr(store_classes, _SCHEMES[scheme])
        arguments = (bucket,)
        common["prefix"] = prefix or None
    try:
        return factory(*arguments, **common, **options)
    except Exception as error:
        detail = describe_obstore_error(error)
        raise StoreError(f"cannot open {url!r} with storage_options {sorted(options)}: {detail}") from error


def _aws_profile(options: dict[str, Any]) -> str | None:
    """The AWS profile to take credentials from: ``profile``, else ``AWS_PROFILE`` unless keys are given."""
    profile = options.pop("profile", None)
    given = options.keys() & {"access_key_id", "skip_signature"} or "AWS_ACCESS_KEY_ID" in os.environ
    return profile if profile is not None or given else os.environ.get("AWS_PROFILE")


def _profile_credentials(url: str, profile: str) -> Any:
    """An obstore credential provider reading ``profile`` of the AWS config files through boto3."""
    try:
        import boto3
        from obstore.auth.boto3 import Boto3CredentialProvider
    except ImportError:
        raise UnsupportedFeature(f"AWS profile {profile!r} for {url!r}: reading profiles needs boto3") from None
    try:
        return Boto3CredentialProvider(boto3.Session(profile_name=profile))
    except Exception as error:  # botocore's ProfileNotFound, or a profile without credentials
        raise StoreError(f"AWS profile {profile!r} for {url!r}: {error}") from error


def _merged_retry_config(url: str, overrides: Any) -> dict[str, Any]:
    if overrides is None:
        return dict(DEFAULT_RETRY_CONFIG)
    if not isinstance(overrides, dict):
        raise StoreError(f"retry_config for {url!r} must be a dict (obstore's RetryConfig), got {overrides!r}")
    merged = {**DEFAULT_RETRY_CONFIG, **overrides}
    merged["backoff"] = {**DEFAULT_RETRY_CONFIG["backoff"], **(overrides.get("backoff") or {})}
    return merged


def _open_url(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
    """The URL registry's opener for every object store protocol."""
    return open_object_store(url, mode=mode, storage_options=storage_options)


for _scheme in _SCHEMES:
    register_protocol(_scheme, _open_url)
