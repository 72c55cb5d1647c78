/* A "Copy" button for a secret shown once (an ingest key, an API token): <button data-copy="ELEMENT_ID"> copies the
   element's text and reveals [data-copy-done="ELEMENT_ID"]; without the clipboard API it selects the text instead. */
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      const secret = document.getElementById(button.dataset.copy);
      const done = function () {
        const note = document.querySelector('[data-copy-done="' + button.dataset.copy + '"]');
        if (note) { note.hidden = false; }
      };
      const selectIt = function () {
        const range = document.createRange();
        range.selectNodeContents(secret);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(secret.textContent).then(done, selectIt);
      } else {
        selectIt();
      }
    });
  });
})();
