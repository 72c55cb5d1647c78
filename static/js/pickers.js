// Searchable pickers (ops_platform/core/pickers.py): every <select data-picker> becomes a box you type into (Tom
// Select, vendored under static/vendor/tom-select). A short list filters its own options; a long one
// (data-picker-url) asks its JSON endpoint — {"results": [{"value", "text"}], "more": bool} — as you type, so the page
// never carries hundreds of options. Labels come from the #picker-labels JSON block (the page's language). Without
// this script the selects stay plain selects. Keyboard: Tom Select's combobox (type, ↑ ↓, Enter, Backspace removes).
(function () {
  "use strict";
  if (typeof window.TomSelect !== "function") { return; }
  var block = document.getElementById("picker-labels");
  var labels = block ? JSON.parse(block.textContent) : {};

  function text(key, fallback) { return labels[key] || fallback; }

  function escape(value) {
    var div = document.createElement("div");
    div.textContent = value;
    return div.innerHTML;
  }

  function message(key, fallback) {
    return function () { return '<div class="no-results">' + escape(text(key, fallback)) + "</div>"; };
  }

  function remoteLoader(url) {
    var joiner = url.indexOf("?") === -1 ? "?" : "&";
    return function (query, callback) {
      var self = this;
      fetch(url + joiner + "q=" + encodeURIComponent(query), {
        credentials: "same-origin", headers: {"Accept": "application/json"}
      })
        .then(function (response) { return response.ok ? response.json() : {results: [], more: false}; })
        .then(function (data) {
          self.wrapper.classList.toggle("picker-more", !!data.more);
          callback(data.results || []);
        })
        .catch(function () { callback(); });
    };
  }

  function upgrade(select) {
    if (select.tomselect) { return; }
    var url = select.dataset.pickerUrl;
    var multiple = select.multiple;
    var config = {
      plugins: multiple ? {remove_button: {title: text("remove", "Remove")}} : {},
      maxOptions: 50,
      allowEmptyOption: !multiple,
      hideSelected: multiple,
      closeAfterSelect: !multiple,
      clearAfterSelect: true,
      placeholder: select.getAttribute("placeholder") || text("type_to_search", "Type to search"),
      render: {
        no_results: message("no_results", "No results"),
        loading: message("loading", "Searching…")
      }
    };
    if (url) {
      config.valueField = "value";
      config.labelField = "text";
      config.searchField = ["text"];
      config.preload = "focus";
      config.shouldLoad = function () { return true; };
      config.load = remoteLoader(url);
    }
    var picker = new window.TomSelect(select, config);
    picker.wrapper.classList.add("picker");
    // A search answered (or a debounced keystroke handled) after the person left the picker must not reopen it: Tom
    // Select's open() takes the focus back, so the list covered the form's button under the pointer.
    var open = picker.open.bind(picker);
    picker.open = function () {
      if (!picker.wrapper.contains(document.activeElement)) { return; }
      return open();
    };
    if (select.getAttribute("aria-label") && picker.control_input) {
      picker.control_input.setAttribute("aria-label", select.getAttribute("aria-label"));
    }
  }

  function upgradeAll(root) {
    (root || document).querySelectorAll("select[data-picker]").forEach(upgrade);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { upgradeAll(); });
  } else {
    upgradeAll();
  }
  window.opsPickers = {upgrade: upgrade, upgradeAll: upgradeAll};
})();
