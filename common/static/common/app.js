import { initAll } from "../nhsuk/nhsuk-frontend.min.js";

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
