/* The funnel form's step editor: add and remove steps (2 to 10), numbered in order. The editor's data-step-label is
   the translated "Step" of each input's accessible name. */
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
})();
