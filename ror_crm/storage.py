"""Static files storage of production (DEBUG off)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed names once `collectstatic` has written its manifest; before that
    (gunicorn started straight from a checkout) the plain names, which WhiteNoise then serves
    from the apps' static folders, instead of a 500 on every page."""

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:  # no manifest yet
            return name
        return super().stored_name(name)
