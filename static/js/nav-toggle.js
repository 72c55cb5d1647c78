/* The main navigation's menu button (shown below 760 px, see app.css): opens and closes the navigation, says so in
   aria-expanded; Escape closes it and gives the focus back to the button. Without JavaScript css/noscript.css shows
   the navigation open and hides the button. */
(function () {
  "use strict";
  const button = document.querySelector(".nav-toggle");
  const nav = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!nav) { return; }
  const topbar = button.closest(".topbar");

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    topbar.classList.toggle("nav-open", open);
  }

  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });
  topbar.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      button.focus();
    }
  });
})();
