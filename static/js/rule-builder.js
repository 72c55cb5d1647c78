/* The segment rule builder: nested AND/OR groups of conditions edited by clicking, written as the same JSON the
   server validates (users/services/segments.py) into the form's rules textarea, with the live size asked of the
   preview API as you edit and the server's messages shown next to the part they name ("rules.conditions[1].value").

   Use: OpsRuleBuilder.mount(rootElement, {textarea, schema, labels, previewUrl, csrf, errors});
   schema: users.selectors.segment_rule_schema(); labels: translated UI words; errors: ["path: message", …]. */
(function () {
  "use strict";

  var MAX_GROUP_DEPTH = 4; // the root is depth 0; the server refuses a group at depth 5

  var el = window.OpsDom.el; // static/js/dom.js, loaded before this script

  function option(value, label, selected) {
    var node = el("option", {value: value, text: label});
    if (selected) node.selected = true;
    return node;
  }

  function mount(root, options) {
    var schema = options.schema, labels = options.labels, area = options.textarea;
    var tree = root.querySelector(".rb-tree"), out = root.querySelector(".rb-size");
    var fields = {};
    schema.fields.forEach(function (field) { fields[field.name] = field; });
    var rules = parse(area.value) || {op: "and", conditions: []};
    var timer = null, asked = 0;

    function parse(text) {
      try {
        var value = JSON.parse(text);
        return value;
      } catch (error) {
        return null;
      }
    }

    function defaultValue(field, operator) {
      if (field.kind === "choice") {
        var first = field.choices.length ? field.choices[0][0] : "";
        return operator === "in" || operator === "not_in" ? [first] : first;
      }
      if (field.kind === "text") return operator === "in" || operator === "not_in" ? [] : "";
      if (field.kind === "number") return 1;
      return operator === "is_set" || operator === "not_set" ? undefined : 30;
    }

    function newCondition() {
      var field = fields.stage || schema.fields[0];
      var operator = schema.operators[field.kind][0];
      return {field: field.name, operator: operator, value: defaultValue(field, operator)};
    }

    function number(raw) {
      var text = String(raw).trim();
      if (text !== "" && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
      return text; // left as text: the server names the field and says what it wants
    }

    function changed(structural) {
      area.value = JSON.stringify(rules, null, 2);
      if (structural) render();
      schedulePreview();
    }

    // --- one condition -------------------------------------------------------------------------------------------

    function valueControl(node, path) {
      var field = fields[node.field], operator = node.operator, valuePath = path + ".value";
      if (!field) {
        return el("input", {value: node.value === undefined ? "" : JSON.stringify(node.value), "data-path": valuePath,
                            "aria-label": labels.value, disabled: true});
      }
      if (field.kind === "date") {
        if (operator === "is_set" || operator === "not_set") return null;
        return el("span", {className: "rb-inline"}, [
          el("input", {type: "number", min: "0", max: "3650", step: "1", value: node.value === undefined ? "" : node.value,
                       "data-path": valuePath, "aria-label": labels.days, className: "rb-number",
                       oninput: function (event) { node.value = number(event.target.value); changed(false); }}),
          el("span", {text: labels.days, className: "muted"})]);
      }
      if (field.kind === "number") {
        return el("input", {type: "number", step: "any", value: node.value === undefined ? "" : node.value,
                            "data-path": valuePath, "aria-label": labels.value, className: "rb-number",
                            oninput: function (event) { node.value = number(event.target.value); changed(false); }});
      }
      var many = operator === "in" || operator === "not_in";
      if (field.kind === "choice") {
        if (many) {
          var chosen = Array.isArray(node.value) ? node.value : [node.value];
          return el("span", {className: "rb-choices", "data-path": valuePath, role: "group", "aria-label": field.label},
            field.choices.map(function (choice) {
              var box = el("input", {type: "checkbox", value: choice[0], onchange: function () {
                var picked = Array.prototype.slice.call(
                  box.closest(".rb-choices").querySelectorAll("input:checked")).map(function (b) { return b.value; });
                node.value = picked;
                changed(false);
              }});
              box.checked = chosen.indexOf(choice[0]) >= 0;
              return el("label", {className: "rb-chip"}, [box, document.createTextNode(" " + choice[1])]);
            }));
        }
        return el("select", {"data-path": valuePath, "aria-label": labels.value,
                             onchange: function (event) { node.value = event.target.value; changed(false); }},
          field.choices.map(function (choice) { return option(choice[0], choice[1], choice[0] === node.value); }));
      }
      var text = many ? (Array.isArray(node.value) ? node.value.join(", ") : "") : (node.value === undefined ? "" : node.value);
      return el("input", {value: text, "data-path": valuePath, "aria-label": labels.value,
                          placeholder: many ? labels.comma_separated : "", oninput: function (event) {
        node.value = many ? event.target.value.split(",").map(function (v) { return v.trim(); }).filter(Boolean)
                          : event.target.value;
        changed(false);
      }});
    }

    function fieldCondition(node, path) {
      var field = fields[node.field];
      var fieldSelect = el("select", {"data-path": path + ".field", "aria-label": labels.field, className: "rb-field",
                                      onchange: function (event) {
        var next = fields[event.target.value];
        var operator = schema.operators[next.kind].indexOf(node.operator) >= 0 && field && field.kind === next.kind
          ? node.operator : schema.operators[next.kind][0];
        node.field = next.name;
        node.operator = operator;
        var value = field && field.kind === next.kind && next.kind !== "choice" ? node.value : defaultValue(next, operator);
        if (value === undefined) delete node.value; else node.value = value;
        changed(true);
      }}, schema.fields.map(function (f) { return option(f.name, f.label, f.name === node.field); }));
      if (!field) fieldSelect.insertBefore(option(node.field, String(node.field), true), fieldSelect.firstChild);
      var operators = field ? schema.operators[field.kind] : [node.operator];
      var operatorSelect = el("select", {"data-path": path + ".operator", "aria-label": labels.operator,
                                         className: "rb-operator", onchange: function (event) {
        var before = node.operator;
        node.operator = event.target.value;
        var wasMany = before === "in" || before === "not_in", isMany = node.operator === "in" || node.operator === "not_in";
        if (field && (wasMany !== isMany || field.kind === "date")) {
          var value = field.kind === "date" && typeof node.value === "number" && node.operator.slice(-5) === "_days"
            ? node.value : defaultValue(field, node.operator);
          if (field.kind !== "date" && wasMany !== isMany && node.value !== undefined) {
            value = isMany ? [].concat(node.value).filter(function (v) { return v !== ""; })
                           : (Array.isArray(node.value) ? (node.value[0] || "") : node.value);
            if (field.kind === "choice" && !value.length && isMany) value = defaultValue(field, node.operator);
            if (field.kind === "choice" && !isMany && value === "" && field.choices.length) value = field.choices[0][0];
          }
          if (value === undefined) delete node.value; else node.value = value;
        }
        changed(true);
      }}, operators.map(function (op) {
        return option(op, schema.operator_labels[op] || op, op === node.operator);
      }));
      if (operators.indexOf(node.operator) < 0) operatorSelect.insertBefore(option(node.operator, String(node.operator), true),
                                                                          operatorSelect.firstChild);
      return [fieldSelect, operatorSelect, valueControl(node, path)];
    }

    function eventCondition(node, path) {
      var listId = "rb-events-list";
      var name = el("input", {value: node.event === undefined ? "" : node.event, list: listId, size: "14",
                              "data-path": path + ".event", "aria-label": labels.event, className: "rb-event",
                              oninput: function (event) { node.event = event.target.value.trim(); changed(false); }});
      var operator = el("select", {"data-path": path + ".operator", "aria-label": labels.operator, className: "rb-operator",
                                   onchange: function (event) { node.operator = event.target.value; changed(false); }},
        schema.operators.event.map(function (op) {
          return option(op, schema.event_operator_labels[op] || op, op === node.operator);
        }));
      var times = el("input", {type: "number", min: "0", step: "1", value: node.value === undefined ? "" : node.value,
                               "data-path": path + ".value", "aria-label": labels.times, className: "rb-number",
                               oninput: function (event) { node.value = number(event.target.value); changed(false); }});
      var days = el("input", {type: "number", min: "0", max: "3650", step: "1",
                              value: node.days === undefined || node.days === null ? "" : node.days,
                              "data-path": path + ".days", "aria-label": labels.in_the_last_days, className: "rb-number",
                              placeholder: labels.ever, oninput: function (event) {
        if (event.target.value.trim() === "") delete node.days; else node.days = number(event.target.value);
        changed(false);
      }});
      return [name, operator, times, el("span", {text: labels.times_in_the_last, className: "muted"}), days,
              el("span", {text: labels.days, className: "muted"})];
    }

    function conditionRow(node, path, parent, index) {
      var isEvent = node && typeof node === "object" && "event" in node;
      var kind = el("select", {"aria-label": labels.kind, className: "rb-kind", onchange: function (event) {
        parent.conditions[index] = event.target.value === "event"
          ? {event: schema.events[0], operator: "gte", value: 1, days: 30} : newCondition();
        changed(true);
      }}, [option("field", labels.customer_field, !isEvent), option("event", labels.did_an_event, isEvent)]);
      var parts = !node || typeof node !== "object" ? [el("code", {text: JSON.stringify(node)})]
        : (isEvent ? eventCondition(node, path) : ("field" in node ? fieldCondition(node, path)
                                                                    : [el("code", {text: JSON.stringify(node)})]));
      var remove = el("button", {type: "button", className: "rb-remove", "aria-label": labels.remove_condition,
                                 title: labels.remove_condition, text: "×", onclick: function () {
        parent.conditions.splice(index, 1);
        changed(true);
      }});
      return el("li", {className: "rb-condition", "data-path": path, "data-testid": "rb-condition"},
                [kind].concat(parts, [remove, el("span", {className: "field-error rb-error", role: "alert"})]));
    }

    // --- a group ---------------------------------------------------------------------------------------------------

    function groupBox(node, path, depth, parent, index) {
      if (!Array.isArray(node.conditions)) node.conditions = [];
      var op = el("select", {"data-path": path + ".op", "aria-label": labels.match, className: "rb-op",
                             onchange: function (event) { node.op = event.target.value; changed(false); }},
                  [option("and", labels.all_of, node.op === "and"), option("or", labels.any_of, node.op === "or")]);
      if (node.op !== "and" && node.op !== "or") op.insertBefore(option(node.op, String(node.op), true), op.firstChild);
      var items = node.conditions.map(function (child, i) {
        var childPath = path + ".conditions[" + i + "]";
        // a condition names a field or an event (as the server reads it): an "op" in a condition is a slip, not a group
        return child && typeof child === "object" && !("field" in child) && !("event" in child) && "op" in child
          ? el("li", {className: "rb-child"}, [groupBox(child, childPath, depth + 1, node, i)])
          : conditionRow(child, childPath, node, i);
      });
      if (!items.length) items = [el("li", {className: "muted rb-empty",
                                             text: node.op === "or" ? labels.empty_or : labels.empty_and})];
      var head = el("div", {className: "rb-group-head"}, [
        el("span", {text: labels.match, className: "muted"}), op,
        el("button", {type: "button", "data-testid": "rb-add-condition", text: "+ " + labels.add_condition,
                      onclick: function () { node.conditions.push(newCondition()); changed(true); }}),
        depth < MAX_GROUP_DEPTH ? el("button", {type: "button", "data-testid": "rb-add-group", text: "+ " + labels.add_group,
                                                onclick: function () {
          node.conditions.push({op: "or", conditions: [newCondition()]});
          changed(true);
        }}) : null,
        parent ? el("button", {type: "button", className: "rb-remove", "aria-label": labels.remove_group,
                               title: labels.remove_group, text: "×", onclick: function () {
          parent.conditions.splice(index, 1);
          changed(true);
        }}) : null,
        el("span", {className: "field-error rb-error", role: "alert"})]);
      return el("div", {className: "rb-group" + (depth ? " rb-nested" : ""), "data-path": path,
                        "data-testid": "rb-group", "data-depth": String(depth)},
                [head, el("ul", {className: "rb-list"}, items)]);
    }

    function render() {
      tree.textContent = "";
      if (!rules || typeof rules !== "object" || Array.isArray(rules) || !("op" in rules)) {
        tree.appendChild(el("p", {className: "muted", text: labels.not_a_group}));
        return;
      }
      tree.appendChild(groupBox(rules, "rules", 0, null, 0));
    }

    // --- messages and the live size ----------------------------------------------------------------------------------

    function clearErrors() {
      Array.prototype.forEach.call(root.querySelectorAll(".rb-error"), function (span) { span.textContent = ""; });
      Array.prototype.forEach.call(root.querySelectorAll("[aria-invalid]"), function (node) {
        node.removeAttribute("aria-invalid");
      });
    }

    function showError(text) {
      var split = text.indexOf(": ");
      var path = split > 0 ? text.slice(0, split) : "rules", message = split > 0 ? text.slice(split + 2) : text;
      var target = null, probe = path;
      while (probe && !target) {
        target = root.querySelector('[data-path="' + probe.replace(/"/g, "") + '"]');
        if (!target) probe = probe.indexOf(".") > 0 || probe.indexOf("[") > 0 ? probe.replace(/(\.[^.[\]]+|\[\d+\])$/, "") : "";
      }
      var holder = target && target.closest(".rb-condition, .rb-group");
      if (target && target !== holder) target.setAttribute("aria-invalid", "true");
      var span = holder ? holder.querySelector(".rb-error") : null;
      if (holder && holder.classList.contains("rb-group")) span = holder.querySelector(".rb-group-head .rb-error");
      if (span) span.textContent = message;
      else out.textContent = message;
    }

    function schedulePreview() {
      clearTimeout(timer);
      timer = setTimeout(preview, 350);
    }

    function preview() {
      var mine = ++asked;
      out.textContent = labels.counting;
      fetch(options.previewUrl, {method: "POST", credentials: "same-origin",
                                 headers: {"Content-Type": "application/json", "X-CSRFToken": options.csrf},
                                 body: JSON.stringify({rules: rules})})
        .then(function (response) {
          return response.json().then(function (body) { return {ok: response.ok, body: body}; });
        })
        .then(function (result) {
          if (mine !== asked) return; // a later edit asked again
          clearErrors();
          if (result.ok) {
            out.textContent = labels.matching_now + " " + Number(result.body.size).toLocaleString();
            out.dataset.size = String(result.body.size);
            return;
          }
          out.textContent = result.body.message || labels.not_valid;
          delete out.dataset.size;
          var errors = (result.body.errors && result.body.errors.rules) || [];
          errors.forEach(showError);
        })
        .catch(function () { if (mine === asked) out.textContent = labels.not_valid; });
    }

    // --- the JSON view ("advanced") ------------------------------------------------------------------------------------

    var jsonBox = root.querySelector(".rb-json"), toggle = root.querySelector(".rb-json-toggle");
    toggle.addEventListener("click", function () {
      var open = jsonBox.hidden;
      jsonBox.hidden = !open;
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.textContent = open ? labels.hide_json : labels.show_json;
    });
    area.addEventListener("input", function () {
      var value = parse(area.value);
      if (value === null) {
        out.textContent = labels.bad_json;
        delete out.dataset.size;
        return;
      }
      rules = value;
      render();
      schedulePreview();
    });

    if (parse(area.value) === null) {
      jsonBox.hidden = false; // the submitted text was not JSON: show it as typed
      toggle.setAttribute("aria-expanded", "true");
      toggle.textContent = labels.hide_json;
    } else {
      area.value = JSON.stringify(rules, null, 2);
    }
    render();
    (options.errors || []).forEach(showError);
    preview();
    var events = el("datalist", {id: "rb-events-list"}, schema.events.map(function (name) { return option(name, name); }));
    root.appendChild(events);
  }

  window.OpsRuleBuilder = {mount: mount};
})();
