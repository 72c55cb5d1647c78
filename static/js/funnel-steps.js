/* The funnel form's step editor: add and remove steps (2 to 10), numbered in order. The editor's data-step-label is
   the translated "Step" of each input's accessible name. The exclusion steps list grows an empty input once the last
   one is filled (at most 5). */
(function () {
  "use strict";
  const editor = document.getElementById("steps-editor");
  if (!editor) return;
  const stepLabel = editor.dataset.stepLabel || "Step";
  const add = document.getElementById("add-step");

  function renumber() {
    const items = editor.querySelectorAll(".step-item");
    items.forEach(function (item, i) {
      item.querySelector(".step-no").textContent = i + 1;
      item.querySelector("input").setAttribute("aria-label", stepLabel + " " + (i + 1));
      item.querySelector(".remove-step").disabled = items.length <= 2;
    });
    add.disabled = items.length >= 10;
  }

  add.addEventListener("click", function () {
    const item = document.getElementById("step-template").content.firstElementChild.cloneNode(true);
    editor.insertBefore(item, add);
    renumber();
    item.querySelector("input").focus();
  });
  editor.addEventListener("click", function (event) {
    if (event.target.classList.contains("remove-step")) { event.target.closest(".step-item").remove(); renumber(); }
  });
  renumber();

  const exclusions = document.getElementById("exclude-list");
  if (exclusions) {
    exclusions.addEventListener("input", function () {
      const inputs = exclusions.querySelectorAll("input");
      const last = inputs[inputs.length - 1];
      if (last.value.trim() && inputs.length < 5) {
        const next = last.cloneNode(false);
        next.value = "";
        next.removeAttribute("id");
        exclusions.appendChild(next);
      }
    });
  }
})();
