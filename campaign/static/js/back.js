/* "Ga terug" on error pages: back in the history when there is one, else the link's own
   address (the start page).  A script file, not a javascript: link, for the CSP. */
(function () {
  "use strict";
  document.querySelectorAll("a[data-back]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
    });
  });
})();
