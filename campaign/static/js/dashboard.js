// The campaign dashboard draws its charts with the plotly.js we serve ourselves and
// follows the figures without a reload: every 30 s it asks the JSON endpoint, updates
// the numbers and the charts, and when anything changed it fetches the page again and
// swaps in the parts marked data-follow (the tables), so filters and scroll stay put.
// The network table sorts in the browser when a column title is clicked.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var config = {displayModeBar: false, responsive: true, locale: "nl"};
  var last = null;

  function draw(charts) {
    if (!window.Plotly) { return; }
    Object.keys(charts).forEach(function (id) {
      var element = document.getElementById(id);
      if (element) { window.Plotly.react(element, charts[id].data, charts[id].layout, config); }
    });
  }

  function lookup(data, path) {
    return path.split(".").reduce(function (value, key) {
      return value === null || value === undefined ? value : value[key];
    }, data);
  }

  function show(data) {
    root.querySelectorAll("[data-figure]").forEach(function (cell) {
      var value = lookup(data, cell.dataset.figure);
      if (value === null || value === undefined) { cell.textContent = "—"; return; }
      cell.textContent = value.toLocaleString("nl-BE") + (cell.dataset.suffix || "");
    });
  }

  function refreshParts() {
    fetch(window.location.href, {credentials: "same-origin"})
      .then(function (reply) { return reply.ok ? reply.text() : Promise.reject(reply.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-follow]").forEach(function (part) {
          var replacement = fresh.getElementById(part.id);
          if (replacement) { part.innerHTML = replacement.innerHTML; }
        });
        setUpSorting();
        draw(JSON.parse(document.getElementById("grafieken").textContent));
      })
      .catch(function () { /* keep the page as it is; the next poll tries again */ });
  }

  function poll() {
    fetch(root.dataset.poll, {credentials: "same-origin"})
      .then(function (reply) { return reply.ok ? reply.json() : Promise.reject(reply.status); })
      .then(function (data) {
        var key = JSON.stringify(data);
        if (last !== null && key !== last) {
          show(data);
          document.getElementById("grafieken").textContent = JSON.stringify(data.charts);
          draw(data.charts);
          refreshParts();
        }
        last = key;
      })
      .catch(function () { /* try again at the next poll */ })
      .then(function () { setTimeout(poll, 30000); });
  }

  function sortBy(table, index, header) {
    var descending = header.getAttribute("aria-sort") !== "descending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index], y = b.cells[index];
      var left = x.dataset.value !== undefined ? x.dataset.value : x.textContent.trim().toLowerCase();
      var right = y.dataset.value !== undefined ? y.dataset.value : y.textContent.trim().toLowerCase();
      var numeric = left !== "" && right !== "" && !isNaN(left) && !isNaN(right);
      var order = numeric ? Number(left) - Number(right) : left < right ? -1 : left > right ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  function setUpSorting() {
    document.querySelectorAll("table[data-sortable]").forEach(function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
        if (header.querySelector("button")) { return; }
        var button = document.createElement("button");
        button.type = "button";
        button.className = "sort";
        button.textContent = header.textContent;
        header.textContent = "";
        header.appendChild(button);
        button.addEventListener("click", function () { sortBy(table, index, header); });
      });
    });
  }

  setUpSorting();
  draw(JSON.parse(document.getElementById("grafieken").textContent));
  setTimeout(poll, 30000);
})();
