import { initAll } from "../nhsuk/nhsuk-frontend.min.js";

// A form without an action posts back to the page's own address, fragment included: after the
// skip link that is "#maincontent", and the browser's jump to that fragment would take focus
// from the error summary. Drop the fragment from a page that reports errors, and give the
// summary focus back once the page has loaded, if the jump took it away.
const errorSummary = document.querySelector(".nhsuk-error-summary");
if (errorSummary && window.location.hash) {
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  window.addEventListener("load", () => {
    if (!errorSummary.contains(document.activeElement)) {
      errorSummary.focus();
    }
  });
}

initAll();
