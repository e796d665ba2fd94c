"""Static files in production: the hashed, compressed copies `collectstatic` writes (WhiteNoise)."""

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured


def static_manifest_require() -> None:
    """Refuse to serve when STATIC_MANIFEST is on and `collectstatic` has not written its manifest.

    Without the manifest every page that links a static file (the admin, /api/docs/) is a 500;
    a node that refuses to start says what to run instead.
    """
    if not settings.STATIC_MANIFEST:
        return
    manifest_storage = staticfiles_storage.manifest_storage
    manifest_name = staticfiles_storage.manifest_name
    if manifest_storage.exists(manifest_name):
        return
    raise ImproperlyConfigured(
        f"STATIC_MANIFEST is on, but {manifest_storage.path(manifest_name)} does not exist: run "
        "`python manage.py collectstatic --noinput` with the same STATIC_ROOT before starting "
        "the server (the Dockerfile runs it when the image is built), or set "
        "STATIC_MANIFEST=false to serve the apps' files unhashed."
    )
