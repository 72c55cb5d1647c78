/* Mounts the segment rule builder on the page (templates/users/_rule_builder.html): its schema, the server's errors
   and its labels come from json_script blocks, so no inline script is needed (Content-Security-Policy). */
(function () {
  "use strict";
  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  const root = document.querySelector("[data-testid=rule-builder]");
  if (!root) { return; }
  const config = data("rb-config");
  root.querySelectorAll(".rb-static-error").forEach(function (node) { node.remove(); });  // shown in place instead
  OpsRuleBuilder.mount(root, {
    textarea: root.querySelector("textarea[name=rules]"),
    schema: data("rb-schema"),
    errors: data("rb-errors"),
    previewUrl: config.previewUrl,
    csrf: root.closest("form").querySelector("input[name=csrfmiddlewaretoken]").value,
    labels: config.labels
  });
})();
