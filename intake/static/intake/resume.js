// The emailed link carries the code after "#", which the browser never sends to us (so it
// is in no log). Fill the form with it; the person selects continue, which uses the code.
const code = decodeURIComponent(window.location.hash.slice(1)).trim();
if (/^[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}$/.test(code)) {
  const field = document.getElementById("id_code");
  if (field && !field.value) field.value = code;
  document.getElementById("from-link").hidden = false;
}
if (window.location.hash) {
  // Out of the address bar and the history as well.
  history.replaceState(null, "", window.location.pathname + window.location.search);
}
