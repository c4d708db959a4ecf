"""How static files are collected: fingerprinted and compressed (whitenoise), with the
imports between ES modules rewritten to the fingerprinted names too.

Django rewrites the addresses inside stylesheets to the fingerprinted files, but leaves a
module's `import … from "../nhsuk/nhsuk-frontend.min.js"` alone unless asked. Left alone,
`common/app.js` would load the NHS.UK frontend's script by its plain name, which whitenoise
may let a browser keep for only a minute (a plain name's content can change), so every
visit after that minute would ask for it again. Rewritten, it loads the fingerprinted file,
which browsers keep for a year (docs/portal.md, "Page weight")."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
