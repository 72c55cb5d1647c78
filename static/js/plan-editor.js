/* The tracking-plan (打點) editor: events and their properties as form rows, written as the same JSON the server
   validates (products/tracking.py plan_events_clean) into the form's events textarea — which stays editable behind
   the "Edit as JSON" toggle. Works like the segment rule builder (static/js/rule-builder.js): the server is the
   truth, its messages ("events[0].properties[1].type: …") are shown beside the field they name; this script only
   pre-checks names, duplicates and patterns on non-text properties while you type.

   Data comes from json_script blocks (Content-Security-Policy: no inline script): pe-errors, pe-labels. */
(function () {
  "use strict";

  var el = window.OpsDom.el; // static/js/dom.js, loaded before this script
  var NAME = /^[a-z][a-z0-9_]{0,99}$/;
  var TYPES = ["string", "number", "integer", "boolean"];
  var root = document.querySelector("[data-testid=plan-editor]");
  if (!root) return;

  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  var labels = data("pe-labels"), serverErrors = {};
  data("pe-errors").forEach(function (text) {
    var split = text.indexOf(": ");
    var path = split > 0 ? text.slice(0, split) : "events", message = split > 0 ? text.slice(split + 2) : text;
    serverErrors[path] = serverErrors[path] ? serverErrors[path] + " " + message : message;
  });
  var area = root.querySelector("textarea[name=events]"), tree = root.querySelector(".pe-events");
  var jsonBox = root.querySelector(".pe-json"), toggle = root.querySelector(".pe-json-toggle");
  var addEvent = root.querySelector(".pe-add-event"), liveError = root.querySelector(".pe-json-error");
  var events = parse(area.value);

  function parse(text) {
    try {
      var value = JSON.parse(text);
      return Array.isArray(value) ? value : null;
    } catch (error) {
      return null;
    }
  }

  function sync() { area.value = JSON.stringify(events, null, 2); }

  // --- typed values ----------------------------------------------------------------------------------------------

  function typed(text, type) {
    if (type === "number" && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    if (type === "integer" && /^-?\d+$/.test(text)) return Number(text);
    if (type === "boolean" && (text === "true" || text === "false")) return text === "true";
    return text; // left as typed: the server names the field and says what it wants
  }

  function allowedText(values) { return Array.isArray(values) ? values.map(String).join(", ") : ""; }

  // --- one field -------------------------------------------------------------------------------------------------

  function field(caption, control, extraClass) {
    return el("label", {className: "pe-field" + (extraClass ? " " + extraClass : "")}, [
      el("span", {className: "pe-caption", text: caption}), control,
      el("span", {className: "field-error pe-error", role: "alert"})]);
  }

  function textInput(path, value, caption, onValue, attrs) {
    var input = el("input", Object.assign({type: "text", value: value === undefined || value === null ? "" : value,
                                           "data-path": path, "aria-label": caption, oninput: function (event) {
      delete serverErrors[path];
      onValue(event.target.value);
      sync();
      check();
    }}, attrs || {}));
    return input;
  }

  // --- a property row --------------------------------------------------------------------------------------------

  function propertyRow(event, prop, i, j) {
    var path = "events[" + i + "].properties[" + j + "]";
    var type = el("select", {"data-path": path + ".type", "aria-label": labels.type, onchange: function (e) {
      delete serverErrors[path + ".type"];
      prop.type = e.target.value;
      if (Array.isArray(prop.allowed)) prop.allowed = prop.allowed.map(function (v) { return typed(String(v), prop.type); });
      sync();
      check();
    }}, TYPES.map(function (t) {
      var option = el("option", {value: t, text: labels.types[t] === t ? t : labels.types[t] + " (" + t + ")"});
      if (t === (prop.type || "string")) option.selected = true;
      return option;
    }));
    if (TYPES.indexOf(prop.type || "string") < 0) {
      var odd = el("option", {value: prop.type, text: String(prop.type)});
      odd.selected = true;
      type.insertBefore(odd, type.firstChild);
    }
    var required = el("input", {type: "checkbox", "data-path": path + ".required", onchange: function (e) {
      prop.required = e.target.checked;
      sync();
    }});
    required.checked = !!prop.required;
    var remove = el("button", {type: "button", className: "rb-remove", text: "×", title: labels.remove_property,
                               "aria-label": labels.remove_property, "data-testid": "pe-remove-property",
                               onclick: function () {
      event.properties.splice(j, 1);
      structural();
    }});
    return el("li", {className: "pe-prop", "data-path": path, "data-testid": "pe-property"}, [
      field(labels.name, textInput(path + ".name", prop.name, labels.property + " " + labels.name, function (v) {
        prop.name = v.trim();
      }, {className: "mono pe-name", size: "16", "data-testid": "pe-property-name"})),
      field(labels.type, type),
      el("label", {className: "pe-field pe-check"}, [el("span", {className: "pe-caption", text: labels.required}),
                                                       required]),
      field(labels.allowed, textInput(path + ".allowed", allowedText(prop.allowed), labels.allowed, function (v) {
        var values = v.split(",").map(function (s) { return s.trim(); }).filter(Boolean)
          .map(function (s) { return typed(s, prop.type || "string"); });
        if (values.length) prop.allowed = values; else delete prop.allowed;
      }, {placeholder: labels.allowed_hint, size: "16", "data-testid": "pe-property-allowed"})),
      field(labels.pattern, textInput(path + ".pattern", prop.pattern, labels.pattern, function (v) {
        if (v) prop.pattern = v; else delete prop.pattern;
      }, {className: "mono", size: "12", "data-testid": "pe-property-pattern"})),
      field(labels.description, textInput(path + ".description", prop.description, labels.description, function (v) {
        prop.description = v;
      }, {size: "18"}), "pe-grow"),
      remove,
      el("span", {className: "field-error pe-own-error", role: "alert"})]);
  }

  // --- an event --------------------------------------------------------------------------------------------------

  function eventBox(event, i) {
    var path = "events[" + i + "]";
    if (!Array.isArray(event.properties)) event.properties = [];
    var rows = event.properties.map(function (prop, j) {
      return prop && typeof prop === "object" ? propertyRow(event, prop, i, j)
        : el("li", {className: "pe-prop", "data-path": path + ".properties[" + j + "]"},
             [el("code", {text: JSON.stringify(prop)}), el("span", {className: "field-error pe-own-error"})]);
    });
    if (!rows.length) rows = [el("li", {className: "muted", text: labels.no_properties})];
    return el("fieldset", {className: "pe-event", "data-path": path, "data-testid": "pe-event"}, [
      el("legend", {text: labels.event + " " + (i + 1)}),
      el("div", {className: "pe-event-head"}, [
        field(labels.event_name, textInput(path + ".name", event.name, labels.event_name, function (v) {
          event.name = v.trim();
        }, {className: "mono pe-name", size: "20", "data-testid": "pe-event-name"})),
        field(labels.description, textInput(path + ".description", event.description, labels.description,
                                            function (v) { event.description = v; }, {size: "30"}), "pe-grow"),
        el("button", {type: "button", className: "rb-remove", text: "×", title: labels.remove_event,
                      "aria-label": labels.remove_event, "data-testid": "pe-remove-event", onclick: function () {
          events.splice(i, 1);
          structural();
        }})]),
      el("span", {className: "field-error pe-own-error", role: "alert"}),
      el("ul", {className: "pe-props", "data-path": path + ".properties"}, rows),
      el("button", {type: "button", className: "button", text: "+ " + labels.add_property,
                    "data-testid": "pe-add-property", onclick: function () {
        event.properties.push({name: "", type: "string", required: false, description: ""});
        structural();
        var names = tree.querySelectorAll("[data-path='" + path + "'] .pe-prop .pe-name");
        if (names.length) names[names.length - 1].focus();
      }})]);
  }

  function render() {
    tree.textContent = "";
    if (events === null) {
      tree.appendChild(el("p", {className: "field-error", text: labels.not_a_list}));
      addEvent.hidden = true;
      return;
    }
    addEvent.hidden = false;
    if (!events.length) tree.appendChild(el("p", {className: "muted", text: labels.no_events}));
    events.forEach(function (event, i) {
      tree.appendChild(event && typeof event === "object" && !Array.isArray(event) ? eventBox(event, i)
        : el("fieldset", {className: "pe-event", "data-path": "events[" + i + "]"},
             [el("code", {text: JSON.stringify(event)}), el("span", {className: "field-error pe-own-error"})]));
    });
    check();
  }

  function structural() {
    serverErrors = {}; // they named rows by their place in what was sent; the rows have moved
    sync();
    render();
  }

  // --- messages beside the fields --------------------------------------------------------------------------------

  function place(path, message) {
    var probe = path;
    while (probe) {
      var node = root.querySelector('[data-path="' + probe.replace(/"/g, "") + '"]');
      if (node) {
        var span;
        if (node.matches("input, select")) {
          node.setAttribute("aria-invalid", "true");
          span = node.closest(".pe-field").querySelector(".pe-error");
        } else {
          span = node.querySelector(":scope > .pe-own-error") || node.parentNode.querySelector(".pe-own-error");
        }
        if (span) {
          span.textContent = span.textContent ? span.textContent + " " + message : message;
          return;
        }
      }
      probe = probe.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      if (probe === path) break;
    }
    liveError.textContent = message; // nowhere better: with the JSON
  }

  function check() {
    Array.prototype.forEach.call(root.querySelectorAll(".pe-error, .pe-own-error"), function (span) {
      span.textContent = "";
    });
    Array.prototype.forEach.call(root.querySelectorAll("[aria-invalid]"), function (node) {
      node.removeAttribute("aria-invalid");
    });
    if (!events) return;
    var found = {};
    var seen = {};
    events.forEach(function (event, i) {
      if (!event || typeof event !== "object") return;
      var path = "events[" + i + "]";
      if (!NAME.test(event.name || "")) found[path + ".name"] = labels.name_rule;
      else if (seen[event.name]) found[path + ".name"] = labels.duplicate_event;
      seen[event.name] = true;
      var props = {};
      (Array.isArray(event.properties) ? event.properties : []).forEach(function (prop, j) {
        if (!prop || typeof prop !== "object") return;
        var at = path + ".properties[" + j + "]";
        if (!NAME.test(prop.name || "")) found[at + ".name"] = labels.name_rule;
        else if (props[prop.name]) found[at + ".name"] = labels.duplicate_property;
        props[prop.name] = true;
        if (prop.pattern && (prop.type || "string") !== "string") found[at + ".pattern"] = labels.pattern_string_only;
      });
    });
    Object.keys(serverErrors).forEach(function (path) { if (!found[path]) place(path, serverErrors[path]); });
    Object.keys(found).forEach(function (path) { place(path, found[path]); });
  }

  // --- the JSON view ---------------------------------------------------------------------------------------------

  function jsonProblem(error, text) {
    var message = String(error && error.message || "");
    var at = /position (\d+)/.exec(message), where = /line (\d+) column (\d+)/.exec(message);
    var line, column;
    if (where) { line = where[1]; column = where[2]; }
    else if (at) {
      var pos = Number(at[1]), before = text.slice(0, pos);
      line = before.split("\n").length;
      column = pos - before.lastIndexOf("\n");
    }
    return labels.bad_json + (line ? " — " + labels.line + " " + line + ", " + labels.column + " " + column : "") +
      ": " + message;
  }

  function showJson(open) {
    jsonBox.hidden = !open;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    toggle.textContent = open ? labels.hide_json : labels.show_json;
  }

  Array.prototype.forEach.call(root.querySelectorAll(".pe-static-errors"), function (node) { node.remove(); });
  toggle.hidden = false;
  toggle.addEventListener("click", function () { showJson(jsonBox.hidden); });
  area.addEventListener("input", function () {
    try {
      var value = JSON.parse(area.value);
      liveError.textContent = "";
      events = Array.isArray(value) ? value : null;
      serverErrors = {};
      render();
    } catch (error) {
      liveError.textContent = jsonProblem(error, area.value);
    }
  });
  addEvent.addEventListener("click", function () {
    events.push({name: "", description: "", properties: [{name: "", type: "string", required: true, description: ""}]});
    structural();
    var names = tree.querySelectorAll(".pe-event-head .pe-name");
    if (names.length) names[names.length - 1].focus();
  });

  // The submitted text was not JSON (or not a list): keep it open as typed, with the server's line and column.
  showJson(events === null || !!root.querySelector("[data-testid=json-error]"));
  if (events !== null && !root.querySelector("[data-testid=json-error]")) sync();
  render();
})();
