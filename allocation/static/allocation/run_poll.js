// Keeps the run's status up to date in place while it is queued or running. Without
// JavaScript the page reloads itself instead (see run.html). A file, not inline, so the
// Content-Security-Policy needs no exception for it.
const box = document.getElementById("run-status");

async function poll() {
  const url = box && box.dataset.poll;
  if (!url) return;
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (response.ok) {
      const data = await response.json();
      if (box.innerHTML.trim() !== data.html.trim()) box.innerHTML = data.html;
      if (!data.in_progress) {
        delete box.dataset.poll;
        return;
      }
    }
  } catch (error) {
    // A network blip: try again on the next tick.
  }
  window.setTimeout(poll, 2000);
}

window.setTimeout(poll, 1000);
