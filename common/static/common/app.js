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

// NHS.UK frontend marks a radio or checkbox that reveals content with aria-expanded, which
// ARIA does not allow on those roles (axe: aria-allowed-attr). The reveal itself, and the
// aria-controls that ties the answer to what it reveals, stay as they are.
const dropExpanded = () => {
  for (const input of document.querySelectorAll("input[aria-controls][aria-expanded]")) {
    input.removeAttribute("aria-expanded");
  }
};
dropExpanded();
document.addEventListener("click", dropExpanded);
window.addEventListener("pageshow", dropExpanded);
