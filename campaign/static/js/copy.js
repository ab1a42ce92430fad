/* "Kopieer" buttons on dashboard pages: <button data-copy="ID"> copies the value (or
   text) of the element with that id; the button says so for two seconds. */
(function () {
  "use strict";
  function copied(button) {
    var label = button.textContent;
    button.textContent = "Gekopieerd ✓";
    setTimeout(function () { button.textContent = label; }, 2000);
  }
  function fallback(button, source, text) {
    var area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (error) { ok = false; }
    document.body.removeChild(area);
    if (ok) { copied(button); } else if (source.select) { source.select(); }
  }
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      var text = source.value !== undefined ? source.value : source.innerText;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { copied(button); },
          function () { fallback(button, source, text); });
      } else {
        fallback(button, source, text);
      }
    });
  });
})();
