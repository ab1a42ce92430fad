// The mail page follows the background sender without reloading.  It polls the counters
// every 3 s while mail is due or being sent (every 30 s while mail only waits for a retry);
// when they changed, it fetches the page again and swaps in the parts marked
// data-follow (the per-recipient list, the table per kind, the invite card), so what the
// coordinator typed or where they scrolled stays as it is.
(function () {
  "use strict";
  var grid = document.querySelector("[data-poll]");
  if (!grid) { return; }
  // What the page was rendered with: a change since then refreshes the parts at once.
  var last = grid.dataset.counts ? JSON.stringify(JSON.parse(grid.dataset.counts)) : null;

  function refreshParts() {
    fetch(window.location.href, {credentials: "same-origin"})
      .then(function (reply) { return reply.ok ? reply.text() : Promise.reject(reply.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-follow]").forEach(function (part) {
          var replacement = fresh.getElementById(part.id);
          if (replacement) { part.innerHTML = replacement.innerHTML; }
        });
      })
      .catch(function () { /* keep the page as it is; the next change tries again */ });
  }

  function show(counts) {
    grid.querySelectorAll("[data-status]").forEach(function (cell) {
      cell.textContent = (counts[cell.dataset.status] || 0).toLocaleString("nl-BE");
    });
  }

  function poll() {
    fetch(grid.dataset.poll, {credentials: "same-origin"})
      .then(function (reply) { return reply.ok ? reply.json() : Promise.reject(reply.status); })
      .then(function (counts) {
        var key = JSON.stringify(counts);
        show(counts);
        if (key !== last) { refreshParts(); }
        last = key;
        if (counts.due || counts.sending) { setTimeout(poll, 3000); }
        else if (counts.deferred) { setTimeout(poll, 30000); }
      })
      .catch(function () { setTimeout(poll, 10000); });
  }
  setTimeout(poll, 3000);
})();
