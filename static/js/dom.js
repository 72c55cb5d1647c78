/* DOM helpers shared by the form editors (static/js/plan-editor.js, static/js/rule-builder.js): load this script
   before them. No inline script anywhere (Content-Security-Policy), so it is a file of its own.

   OpsDom.el(tag, attrs, children): a new element. attrs: "text" sets its text, "className" its class, "onclick"
   (any "on…") adds a listener, others are attributes (true: present and empty; undefined, null, false: left out);
   children: nodes appended in order, falsy ones skipped. */
(function () {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  window.OpsDom = {el: el};
})();
