// The mail page follows the background sender without reloading: the counters every 3 s
// while mail is due or being sent (every 30 s while mail only waits for a retry), and the
// per-recipient list is fetched again whenever the counts changed.  Once nothing is left
// to follow, the page reloads once so that the other sections catch up too.
(function () {
  "use strict";
  var grid = document.querySelector("[data-poll]");
  var list = document.getElementById("mails-per-ontvanger");
  if (!grid) { return; }
  // What the page was rendered with: a change since then refreshes the list at once.
  var last = grid.dataset.counts ? JSON.stringify(JSON.parse(grid.dataset.counts)) : null;
  var changed = false;

  function refreshList() {
    if (!list || !list.dataset.list) { return; }
    fetch(list.dataset.list, {credentials: "same-origin"})
      .then(function (reply) { return reply.ok ? reply.text() : Promise.reject(reply.status); })
      .then(function (html) { list.innerHTML = html; })
      .catch(function () { /* keep the list as it is; the next change tries again */ });
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
        if (last !== null && key !== last) { changed = true; refreshList(); }
        last = key;
        if (counts.due || counts.sending) { setTimeout(poll, 3000); }
        else if (counts.deferred) { setTimeout(poll, 30000); }
        else if (changed) { location.reload(); }
      })
      .catch(function () { setTimeout(poll, 10000); });
  }
  setTimeout(poll, 3000);
})();
