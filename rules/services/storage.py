"""Where documents live: a local path, `-` (stdin/stdout) or `s3://bucket/key`.

S3 goes through django-storages (boto3), so S3-compatible stores work with AWS_S3_ENDPOINT_URL.
Credentials are never settings: boto3 reads them from the environment (or an instance role).
"""

import sys
from pathlib import Path
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage

from rules.errors import ServiceError

STDIO = "-"


class StorageError(ServiceError):
    """A document could not be read or written; the message names the location and the cause."""

    code = "storage_error"


def s3_location(location: str) -> tuple[str, str] | None:
    """(bucket, key) of an `s3://bucket/key` location, else None."""
    if not location.startswith("s3://"):
        return None
    parts = urlsplit(location)
    key = parts.path.lstrip("/")
    if not parts.netloc or not key:
        raise StorageError(f"{location}: an S3 location is s3://bucket/key")
    return parts.netloc, key


def s3_storage(*, bucket: str, prefix: str = "") -> Storage:
    """django-storages' S3 storage for one bucket (endpoint and region from settings)."""
    from storages.backends.s3 import S3Storage  # imported lazily: boto3 is slow to import

    return S3Storage(
        bucket_name=bucket,
        location=prefix,
        endpoint_url=settings.AWS_S3_ENDPOINT_URL,
        region_name=settings.AWS_S3_REGION_NAME,
        file_overwrite=True,
        default_acl=None,
        querystring_auth=False,
    )


def local_storage(root: Path) -> Storage:
    # allow_overwrite: a snapshot path is rewritten in place, never renamed to a free name.
    return FileSystemStorage(location=str(root), allow_overwrite=True)


def s3_error_text(error: Exception, *, bucket: str, key: str) -> str:
    """A short, human message for a boto3/botocore failure (no traceback)."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket",):
            return f"s3://{bucket}: the bucket does not exist"
        if code in ("NoSuchKey", "404", "NotFound"):
            return f"s3://{bucket}/{key}: no such object"
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return f"s3://{bucket}/{key}: access denied ({code}); check the AWS_* credentials"
        return f"s3://{bucket}/{key}: {code or error}"
    return f"s3://{bucket}/{key}: {error}"


def s3_bucket_exists(storage) -> bool:
    try:
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
    except ClientError:
        return False
    return True


def storage_read(*, storage: Storage, name: str, where: str) -> bytes:
    """Read one object of a storage, translating storage errors to StorageError."""
    try:
        with storage.open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError as error:
        if not where.startswith("s3://"):
            raise StorageError(f"{where}: no such file") from error
        bucket = storage.bucket_name
        # S3 answers a bare 404 for a missing key and for a missing bucket alike.
        if not s3_bucket_exists(storage):
            raise StorageError(f"s3://{bucket}: the bucket does not exist") from error
        raise StorageError(f"{where}: no such object") from error
    except (ClientError, BotoCoreError) as error:
        bucket = getattr(storage, "bucket_name", "")
        raise StorageError(s3_error_text(error, bucket=bucket, key=name)) from error
    except OSError as error:
        raise StorageError(f"{where}: {error.strerror or error}") from error


def storage_write(*, storage: Storage, name: str, content: bytes, where: str) -> None:
    """Write (or overwrite) one object of a storage, translating errors to StorageError."""
    try:
        storage.save(name, ContentFile(content))
    except (ClientError, BotoCoreError) as error:
        bucket = getattr(storage, "bucket_name", "")
        raise StorageError(s3_error_text(error, bucket=bucket, key=name)) from error
    except OSError as error:
        raise StorageError(f"{where}: {error.strerror or error}") from error


def document_read(location: str) -> bytes:
    """The bytes at a local path, `-` (stdin) or `s3://bucket/key`."""
    if location == STDIO:
        return sys.stdin.buffer.read()
    s3 = s3_location(location)
    if s3:
        bucket, key = s3
        return storage_read(storage=s3_storage(bucket=bucket), name=key, where=location)
    path = Path(location)
    if path.is_dir():
        raise StorageError(f"{location}: is a folder, not a file")
    try:
        return path.read_bytes()
    except FileNotFoundError as error:
        raise StorageError(f"{location}: no such file") from error
    except OSError as error:
        raise StorageError(f"{location}: {error.strerror or error}") from error


def document_write(location: str, content: bytes) -> None:
    """Write bytes to a local path, `-` (stdout) or `s3://bucket/key`."""
    if location == STDIO:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    s3 = s3_location(location)
    if s3:
        bucket, key = s3
        storage_write(storage=s3_storage(bucket=bucket), name=key, content=content, where=location)
        return
    path = Path(location)
    if not path.parent.is_dir():
        raise StorageError(f"{location}: the folder {path.parent} does not exist")
    try:
        path.write_bytes(content)
    except OSError as error:
        raise StorageError(f"{location}: {error.strerror or error}") from error
