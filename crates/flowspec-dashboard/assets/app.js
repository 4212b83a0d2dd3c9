// Live parts of the flowspec dashboard. Everything else works without this file.
// An element with data-live="URL" follows the server-sent events of that URL: each
// event named data-event replaces its content (or, with data-mode="append", is added
// to it). The HTML comes from the server, which escapes everything it did not write.
"use strict";

function follow(element) {
  const source = new EventSource(element.dataset.live);
  const name = element.dataset.event || "message";
  const append = element.dataset.mode === "append";
  source.addEventListener(name, (event) => {
    if (append) {
      const stick = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
      element.insertAdjacentHTML("beforeend", event.data);
      if (stick) window.scrollTo(0, document.body.scrollHeight);
    } else if (element.innerHTML !== event.data) {
      element.innerHTML = event.data;
    }
  });
  source.addEventListener("end", () => {
    source.close();
    document.querySelectorAll(".live-note").forEach((note) => (note.textContent = "the job has ended"));
  });
}

document.querySelectorAll("[data-live]").forEach(follow);

// Buttons that change something ask once more when they are marked data-confirm.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});

// Lists marked data-submit send their form when changed (the Choose button does the
// same without JavaScript).
document.querySelectorAll("select[data-submit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
