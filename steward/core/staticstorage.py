"""Static files storage: WhiteNoise's compressed manifest storage, without following source-map comments.

The vendored libraries (static/vendor, scripts/vendor.sh) end with `//# sourceMappingURL=...` comments
whose .map files are not shipped; Django's manifest storage would make `collectstatic` fail on them. CSS
`url()` and `@import` references are still hashed.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = tuple(
        (glob, tuple(p for p in subs if "sourceMappingURL" not in (p[0] if isinstance(p, tuple) else p)))
        for glob, subs in CompressedManifestStaticFilesStorage.patterns
        if glob != "*.js"
    )
