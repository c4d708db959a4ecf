"""What a public page costs on a slow connection (docs/portal.md, "Page weight";
benchmarks/bench_page_weight.py measures it): pages go out compressed, they load only the
stylesheets and scripts every page needs, and the static files they load are fingerprinted
and kept by browsers for a year, served compressed."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.http import HttpResponse
from django.templatetags.static import static
from django.test import RequestFactory
from django.urls import reverse
from whitenoise.middleware import WhiteNoiseMiddleware

from portal.services import COOKIE_NAME
from tests.intake.walk import MINIMAL, post_step, step_url
from tests.notifications.people import make_referral
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
YEAR = 365 * 24 * 3600
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
STYLESHEET = re.compile(r"<link\b[^>]*rel=\"stylesheet\"[^>]*>", re.IGNORECASE)
SRC = re.compile(r'\bsrc="([^"]*)"')
HREF = re.compile(r'\bhref="([^"]*)"')


@pytest.fixture
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def public_pages(client, service) -> dict[str, str]:
    """Every public page a person meets before and after referring, as HTML: the start
    page, each self-referral step reached by answering the ones before, the save-and-return
    page, and the portal's pages, signed out and signed in."""
    pages = {}

    def keep(path: str, response) -> None:
        assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
        pages[path] = response.content.decode()

    for path in ("/", reverse("refer-start"), reverse("refer-resume")):
        keep(path, client.get(path))
    for step, data in MINIMAL.items():
        keep(step_url(step), client.get(step_url(step)))
        assert post_step(client, step, data).status_code == 302
    for path in (reverse("portal-start"), reverse("portal-link-sent")):
        keep(path, client.get(path))
    referral = make_referral(service, agreed=("email",), preferred="email")
    portal = type(client)()
    sign_in(portal, referral)
    keep(reverse("portal-home"), portal.get(reverse("portal-home")))
    assert portal.cookies[COOKIE_NAME].value
    return pages


def test_public_pages_load_only_the_shared_stylesheets_and_script(client, referral_service):
    """The NHS.UK frontend's stylesheet, ours, and one module script (which brings the
    frontend's script); the save-and-return page alone adds its own small script. Nothing
    staff-only, nothing from elsewhere."""
    shared_scripts = [static("common/app.js")]
    shared_styles = [static("nhsuk/nhsuk-frontend.min.css"), static("common/app.css")]
    pages = public_pages(client, referral_service)
    assert len(pages) == len(MINIMAL) + 6
    for path, html in pages.items():
        scripts = [SRC.search(attrs) for attrs in SCRIPT.findall(html)]
        external = [found.group(1) for found in scripts if found]
        inline = [found for found in scripts if not found]
        expected = shared_scripts + (
            [static("intake/resume.js")] if path == reverse("refer-resume") else []
        )
        assert external == expected, path
        # The one inline script: the nonce'd line that says the browser runs JavaScript.
        assert len(inline) == 1, path
        assert [HREF.search(link).group(1) for link in STYLESHEET.findall(html)] == (
            shared_styles
        ), path


def test_public_pages_go_out_compressed(client, referral_service):
    for path in ("/", reverse("refer-start"), step_url("safety"), reverse("portal-start")):
        plain = client.get(path)
        packed = client.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        assert packed.status_code == 200
        assert packed["Content-Encoding"] == "gzip", path
        assert "Accept-Encoding" in packed["Vary"], path
        assert "no-store" in packed["Cache-Control"], path
        page = gzip.decompress(packed.content).decode()
        assert "</html>" in page and "<h1" in page, path
        # Well under half the page's size on the wire.
        assert len(packed.content) < len(plain.content) / 2, path


@pytest.fixture
def collected(settings, tmp_path):
    """The project's own script and the NHS.UK frontend's, collected by the project's
    storage into a directory of the test's own, and whitenoise serving them as in
    production."""
    source = tmp_path / "source"
    (source / "common").mkdir(parents=True)
    (source / "nhsuk").mkdir()
    shutil.copy(ROOT / "common/static/common/app.js", source / "common/app.js")
    shutil.copy(
        ROOT / "static_build/nhsuk/nhsuk-frontend.min.js", source / "nhsuk/nhsuk-frontend.min.js"
    )
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STATICFILES_DIRS = [source]
    settings.STATIC_ROOT = tmp_path / "collected"
    settings.WHITENOISE_AUTOREFRESH = False
    settings.WHITENOISE_USE_FINDERS = False
    call_command("collectstatic", "--noinput", verbosity=0)
    served = WhiteNoiseMiddleware(lambda request: HttpResponse("not a static file", status=404))
    return settings.STATIC_ROOT, served


def test_the_shared_script_imports_the_frontend_by_its_fingerprinted_name(collected):
    root, _ = collected
    [app] = [p for p in (root / "common").glob("app.*.js") if p.name.count(".") == 2]
    [frontend] = [
        p for p in (root / "nhsuk").glob("nhsuk-frontend.min.*.js") if p.name.count(".") == 3
    ]
    assert f'from "../nhsuk/{frontend.name}"' in app.read_text()
    assert static("common/app.js") == f"/static/common/{app.name}"


def test_fingerprinted_files_are_kept_a_year_and_served_compressed(collected):
    _, served = collected
    for name in ("common/app.js", "nhsuk/nhsuk-frontend.min.js"):
        url = static(name)
        assert url != f"/static/{name}", "not fingerprinted"
        request = RequestFactory().get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        response = served(request)
        assert response.status_code == 200, url
        assert response["Content-Encoding"] == "br", url
        cache_control = response["Cache-Control"]
        assert "immutable" in cache_control, url
        max_age = int(re.search(r"max-age=(\d+)", cache_control).group(1))
        assert max_age >= YEAR, url
        assert "no-store" not in cache_control, url
        response.close()
        # And gzip for a browser that has no Brotli.
        request = RequestFactory().get(url, HTTP_ACCEPT_ENCODING="gzip")
        response = served(request)
        assert response["Content-Encoding"] == "gzip", url
        response.close()
