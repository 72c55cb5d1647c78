/* Kanban boards (templates/includes/board.html, ops_platform/core/boards.py): drag a card to another column with
   SortableJS, or choose from its "Move to…" menu (keyboard). The move is posted to the app's move API — the same
   service and rules as the move form; a refused move snaps back with the server's message, announced in the live
   region. A move that needs more (a loss reason) asks for it in a dialog first. Columns load 30 cards at a time. */
(function () {
  "use strict";
  const root = document.querySelector("[data-board]");
  if (!root) return;
  const config = JSON.parse(document.getElementById(root.dataset.board).textContent);
  const status = document.querySelector("[data-board-status]");
  const dialog = document.querySelector("[data-board-dialog]");
  let dialogState = null;

  function csrf() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) { return values[key] === undefined ? "" : values[key]; });
  }
  function announce(text) { status.textContent = text; }
  function columnOf(node) { return node.closest("[data-column]"); }
  function columnByKey(key) { return root.querySelector('[data-column="' + key + '"]'); }
  function labelOf(key) {
    const column = columnByKey(key);
    if (column) return column.dataset.label;
    for (const from in config.moves) {
      for (const [value, label] of config.moves[from]) if (value === key) return label;
    }
    return key;
  }
  function changeCount(column, delta) {
    if (!column) return;
    const count = column.querySelector("[data-count]");
    const value = Math.max(0, Number(count.textContent) + delta);
    count.textContent = String(value);
    column.querySelector("[data-empty]").hidden = value > 0;
  }
  function refusal(body) {
    if (!body || typeof body !== "object") return config.text.failed;
    const details = [];
    Object.values(body.errors || {}).forEach(function (messages) {
      (Array.isArray(messages) ? messages : [messages]).forEach(function (m) { if (typeof m === "string") details.push(m); });
    });
    return [body.message || body.detail || "", details.join(" ")].join(" ").trim() || config.text.failed;
  }
  function showCardError(card, text) {
    const box = card.querySelector("[data-card-error]");
    box.textContent = text || "";
    box.hidden = !text;
  }
  function rebuildMenu(card, key) {
    const select = card.querySelector("[data-move]");
    if (!select) return;
    while (select.options.length > 1) select.remove(1);
    (config.moves[key] || []).forEach(function (move) { select.add(new Option(move[1], move[0])); });
    select.value = "";
  }

  function post(card, toKey, values) {
    const body = Object.assign({}, values);
    body[config.move_field] = toKey;
    return fetch(config.move_url.replace("/0/", "/" + card.dataset.id + "/"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf()},
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        return {ok: response.ok, body: data};
      });
    }, function () { return {ok: false, body: null}; });
  }

  // After the server said yes: the card sits in its new column (or leaves a board that has no such column).
  function moved(card, fromColumn, toKey) {
    const target = columnByKey(toKey);
    const name = card.dataset.cardLabel;
    changeCount(fromColumn, -1);
    if (fromColumn && card.dataset.loaded === "1") {
      fromColumn.dataset.loadedCards = String(Number(fromColumn.dataset.loadedCards) - 1);
      card.dataset.loaded = "0";
    }
    if (target) {
      const cards = target.querySelector("[data-cards]");
      if (card.parentNode !== cards) cards.insertBefore(card, cards.firstChild);
      changeCount(target, 1);
      card.dataset.inColumn = toKey;
      card.querySelectorAll("[data-stale]").forEach(function (flag) { flag.remove(); });
      card.classList.remove("stale");  // a move starts the time in the stage again
      rebuildMenu(card, toKey);
      showCardError(card, "");
    } else {
      card.remove();
    }
    announce(format(config.text.moved, {card: name, column: labelOf(toKey)}));
    const select = target && card.querySelector("[data-move]");
    if (select && card.dataset.focusAfter === "1") select.focus();
    card.dataset.focusAfter = "0";
  }
  function refused(card, restore, text) {
    restore();
    showCardError(card, text);
    announce(format(config.text.refused, {card: card.dataset.cardLabel, reason: text}));
    const select = card.querySelector("[data-move]");
    if (select && card.dataset.focusAfter === "1") select.focus();
    card.dataset.focusAfter = "0";
  }

  function attempt(card, toKey, restore) {
    const fromColumn = columnByKey(card.dataset.inColumn);
    const needs = config.needs[toKey] || [];
    if (needs.length) { openDialog(card, fromColumn, toKey, needs, restore); return; }
    card.setAttribute("aria-busy", "true");
    announce(format(config.text.moving, {card: card.dataset.cardLabel, column: labelOf(toKey)}));
    post(card, toKey, {}).then(function (result) {
      card.removeAttribute("aria-busy");
      if (result.ok) moved(card, fromColumn, toKey);
      else refused(card, restore, refusal(result.body));
    });
  }

  // The dialog for a move that needs more than a drop (built from config.needs).
  function openDialog(card, fromColumn, toKey, needs, restore) {
    const fields = dialog.querySelector("[data-dialog-fields]");
    fields.textContent = "";
    dialog.querySelector("[data-dialog-title]").textContent = format(config.text.dialog_title, {
      card: card.dataset.cardLabel, column: labelOf(toKey)});
    needs.forEach(function (need, index) {
      const label = document.createElement("label");
      const caption = document.createElement("span");
      caption.textContent = need.label;
      let input;
      if (need.kind === "select") {
        input = document.createElement("select");
        input.add(new Option("—", ""));
        need.options.forEach(function (option) { input.add(new Option(option[1], option[0])); });
      } else if (need.kind === "textarea") {
        input = document.createElement("textarea");
        input.rows = 3;
      } else {
        input = document.createElement("input");
      }
      input.name = need.name;
      input.required = need.required;
      input.id = "board-need-" + index;
      input.dataset.testid = "need-" + need.name;
      const error = document.createElement("span");
      error.className = "kanban-error small";
      error.dataset.fieldError = need.name;
      error.id = "board-need-error-" + index;
      input.setAttribute("aria-describedby", error.id);
      label.append(caption, input, error);
      fields.append(label);
    });
    dialog.querySelector("[data-dialog-error]").hidden = true;
    dialogState = {card: card, fromColumn: fromColumn, toKey: toKey, needs: needs, restore: restore, busy: false};
    dialog.showModal();
    const first = fields.querySelector("input, select, textarea");
    if (first) first.focus();
  }
  function closeDialog(cancelled) {
    const state = dialogState;
    dialogState = null;
    if (dialog.open) dialog.close();
    if (state && cancelled) {
      state.restore();
      showCardError(state.card, "");
      announce(format(config.text.stays, {card: state.card.dataset.cardLabel}));
      const select = state.card.querySelector("[data-move]");
      if (select) select.focus();
    }
  }
  function fieldErrors(errors) {
    let shown = false;
    dialog.querySelectorAll("[data-field-error]").forEach(function (box) {
      const messages = errors[box.dataset.fieldError];
      box.textContent = messages ? [].concat(messages).join(" ") : "";
      const input = dialog.querySelector('[name="' + box.dataset.fieldError + '"]');
      if (messages) { input.setAttribute("aria-invalid", "true"); shown = true; } else input.removeAttribute("aria-invalid");
    });
    return shown;
  }
  dialog.querySelector("form").addEventListener("submit", function (event) {
    event.preventDefault();
    const state = dialogState;
    if (!state || state.busy) return;
    const values = {};
    const missing = {};
    state.needs.forEach(function (need) {
      const value = dialog.querySelector('[name="' + need.name + '"]').value.trim();
      if (need.required && !value) missing[need.name] = [config.text.required];
      if (value) values[need.name] = value;
    });
    if (fieldErrors(missing)) { dialog.querySelector('[aria-invalid="true"]').focus(); return; }
    state.busy = true;
    post(state.card, state.toKey, values).then(function (result) {
      state.busy = false;
      const errors = (result.body && result.body.errors) || {};
      if (!result.ok && state.needs.some(function (need) { return errors[need.name]; })) {
        fieldErrors(errors);  // the server wants more of what the dialog asks: say so there
        const box = dialog.querySelector("[data-dialog-error]");
        box.textContent = refusal(result.body);
        box.hidden = false;
        return;
      }
      dialogState = null;
      dialog.close();
      if (result.ok) moved(state.card, state.fromColumn, state.toKey);
      else refused(state.card, state.restore, refusal(result.body));
    });
  });
  dialog.addEventListener("input", function (event) {
    const box = dialog.querySelector('[data-field-error="' + event.target.name + '"]');
    if (box && event.target.value.trim()) { box.textContent = ""; event.target.removeAttribute("aria-invalid"); }
  });
  dialog.querySelector("[data-dialog-cancel]").addEventListener("click", function () { closeDialog(true); });
  dialog.addEventListener("cancel", function (event) { event.preventDefault(); closeDialog(true); });

  // Cards: remember the column the server last put each one in (a dragged card is in its new column before the server
  // answers), and make them movable.
  root.querySelectorAll("[data-column]").forEach(function (column) {
    const cards = column.querySelector("[data-cards]");
    cards.querySelectorAll("[data-id]").forEach(function (card) {
      card.dataset.inColumn = column.dataset.column;
      card.dataset.loaded = "1";
    });
    column.dataset.loadedCards = String(cards.querySelectorAll("[data-id]").length);
    if (window.Sortable) {
      window.Sortable.create(cards, {
        group: "board", sort: false, animation: 150, draggable: "[data-movable]",
        filter: "select, option", preventOnFilter: false, fallbackTolerance: 4, delayOnTouchOnly: true, delay: 150,
        onEnd: function (event) {
          if (event.from === event.to) return;
          const card = event.item;
          const fromCards = event.from;
          const oldIndex = event.oldIndex;
          const toKey = columnOf(event.to).dataset.column;
          attempt(card, toKey, function () {
            fromCards.insertBefore(card, fromCards.children[oldIndex] || null);
          });
        },
      });
    }
  });
  root.addEventListener("change", function (event) {
    const select = event.target.closest("[data-move]");
    if (!select || !select.value) return;
    const card = select.closest("[data-id]");
    const toKey = select.value;
    select.value = "";
    card.dataset.focusAfter = "1";
    attempt(card, toKey, function () {});
  });
  // Columns: 30 cards at a time, on "Load more" or when it scrolls into view.
  function loadMore(button) {
    if (button.dataset.busy === "1" || !button.dataset.more) return;
    const column = columnOf(button);
    const url = new URL(button.dataset.more, window.location.href);
    url.searchParams.set("offset", column.dataset.loadedCards);
    button.dataset.busy = "1";
    const caption = button.textContent;
    button.textContent = config.text.loading;
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { if (!response.ok) throw new Error(String(response.status)); return response.json(); })
      .then(function (data) {
        const cards = column.querySelector("[data-cards]");
        const template = document.createElement("template");
        template.innerHTML = data.html;
        template.content.querySelectorAll("[data-id]").forEach(function (card) {
          column.dataset.loadedCards = String(Number(column.dataset.loadedCards) + 1);
          if (cards.querySelector('[data-id="' + card.dataset.id + '"]')) return;  // moved here earlier
          card.dataset.inColumn = column.dataset.column;
          card.dataset.loaded = "1";
          cards.append(card);
        });
        button.dataset.more = data.next;
        button.hidden = !data.next;
        button.textContent = caption;
        button.dataset.busy = "0";
      })
      .catch(function () {
        button.textContent = caption;
        button.dataset.busy = "0";
        announce(config.text.load_failed);
      });
  }
  root.querySelectorAll("[data-more]").forEach(function (button) {
    button.addEventListener("click", function () { loadMore(button); });
    if ("IntersectionObserver" in window) {
      new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) { if (entry.isIntersecting && !button.hidden) loadMore(button); });
      }, {root: columnOf(button), rootMargin: "0px 0px 120px 0px"}).observe(button);
    }
  });
})();
