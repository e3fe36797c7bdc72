"""Credentials and options for cloud storage URIs (``s3://``, ``gs://``, ``az://``).

Credentials are found the way the Roboflow client and the cloud SDKs find them, from the
server's environment and profile files, never from a request: S3 through botocore's chain
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, ``~/.aws/*``) with
``AWS_ENDPOINT_URL`` (+ ``AWS_REGION``) for S3-compatible servers; GCS through gcsfs
(``GOOGLE_APPLICATION_CREDENTIALS``, gcloud files, ``STORAGE_EMULATOR_HOST``); Azure Blob from
``AZURE_STORAGE_CONNECTION_STRING`` or the account name with a key or SAS token, which adlfs
does not pick up by itself.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

CLOUD_SCHEMES = ("s3", "gs", "gcs", "az", "abfs")
T = TypeVar("T")
GLOB_CHARS = re.compile(r"[*?\[]")


def storage_options(protocol: str) -> dict[str, Any]:
    """Fsspec keyword arguments for ``protocol`` taken from the environment (empty if none apply)."""
    env = os.environ
    options: dict[str, Any] = {}
    if protocol in ("s3", "s3a"):
        if env.get("AWS_ENDPOINT_URL"):
            options["endpoint_url"] = env["AWS_ENDPOINT_URL"]
            if env.get("AWS_REGION"):
                options["client_kwargs"] = {"region_name": env["AWS_REGION"]}
        if env.get("AWS_PROFILE"):
            options["profile"] = env["AWS_PROFILE"]
    elif protocol in ("gs", "gcs"):
        if env.get("STORAGE_EMULATOR_HOST") and not env.get("GOOGLE_APPLICATION_CREDENTIALS"):
            # a local emulator (fake-gcs-server) takes anonymous requests; gcsfs must not probe
            # for hierarchical-namespace buckets, which emulators do not implement
            options["token"] = "anon"  # noqa: S105 (gcsfs keyword for anonymous access, not a secret)
            os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    elif protocol in ("az", "abfs", "azure"):
        if env.get("AZURE_STORAGE_CONNECTION_STRING"):
            options["connection_string"] = env["AZURE_STORAGE_CONNECTION_STRING"]
        account = env.get("AZURE_STORAGE_ACCOUNT_NAME") or env.get("AZURE_STORAGE_ACCOUNT")
        if account:
            options["account_name"] = account
        if env.get("AZURE_STORAGE_SAS_TOKEN"):
            options["sas_token"] = env["AZURE_STORAGE_SAS_TOKEN"]
        elif key := env.get("AZURE_STORAGE_ACCOUNT_KEY") or env.get("AZURE_STORAGE_KEY"):
            options["account_key"] = key
    return options


def protocol_of(uri: str) -> str:
    """The scheme of a URI (``file`` for plain paths)."""
    return uri.split("://", 1)[0].lower() if "://" in uri else "file"


def split_glob(uri: str) -> tuple[str, str | None]:
    """(base URI, glob pattern relative to it) of a URI such as ``s3://b/data/**/*.jpg``.

    The base is everything up to the last ``/`` before the first glob character; without glob
    characters the whole URI is the base (a folder, listed recursively).
    """
    match = GLOB_CHARS.search(uri)
    if match is None:
        return uri.rstrip("/"), None
    cut = uri.rfind("/", 0, match.start())
    return uri[:cut], uri[cut + 1 :]


def bucket_of(uri: str) -> str:
    """The bucket (or container) named by a cloud URI; empty when there is none."""
    rest = uri.split("://", 1)[1] if "://" in uri else ""
    return rest.split("/", 1)[0]


def run_with_timeout(fn: Callable[[], T], seconds: float) -> T:
    """Run ``fn`` in a daemon thread and wait at most ``seconds``; TimeoutError after that.

    Cloud SDKs can spend minutes looking for credentials (for example gcsfs asking a metadata
    server that does not exist off Google Cloud); a request must not hang on that. The thread
    is left to finish on its own.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name="cloud-check", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return cast(T, box["value"])
