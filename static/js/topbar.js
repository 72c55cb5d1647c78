// Top-bar counters (unread notifications …): each link names the endpoint that answers {"count": n}; the number
// is filled in after the page has loaded, so no page waits for it.
(function () {
  document.querySelectorAll(".topbar-counter[data-count-url]").forEach(function (link) {
    fetch(link.dataset.countUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || typeof data.count !== "number") { return; }
        var badge = link.querySelector(".counter-badge");
        badge.textContent = data.count > 99 ? "99+" : String(data.count);
        badge.hidden = data.count === 0;
        link.classList.toggle("has-items", data.count > 0);
        link.dataset.count = String(data.count);
      })
      .catch(function () { /* the link still works without its number */ });
  });
})();
