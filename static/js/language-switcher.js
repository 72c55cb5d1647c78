/* The language menu in the top bar submits itself when a language is picked (the <noscript> button does otherwise). */
(function () {
  "use strict";
  const select = document.getElementById("language-select");
  if (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  }
})();
