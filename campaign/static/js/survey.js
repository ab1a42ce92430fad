/* Progressive enhancement for the survey pages; everything works without it.
   - show and hide questions whose condition depends on an answer on the same page;
   - typing in "Andere, namelijk" ticks the option;
   - copy and share buttons; focus the error summary. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function answerOf(form, name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    var values = [];
    inputs.forEach(function (input) {
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) { return; }
      if (input.value) { values.push(input.value); }
    });
    return values;
  }

  function conditionMet(rule, values) {
    if (rule.includes !== undefined) { return values.indexOf(rule.includes) >= 0; }
    if (rule.equals !== undefined) { return values.length === 1 && values[0] === rule.equals; }
    return values.length === 1 && (rule["in"] || []).indexOf(values[0]) >= 0;
  }

  function applyConditions(form) {
    form.querySelectorAll("[data-show-if]").forEach(function (block) {
      var rule = JSON.parse(block.getAttribute("data-show-if"));
      var shown = conditionMet(rule, answerOf(form, rule.question));
      block.hidden = !shown;
      block.querySelectorAll("input, textarea, select").forEach(function (el) { el.disabled = !shown; });
    });
  }

  // The first page comes straight from the start form's POST, the thank-you page from the
  // last page's: show (and reload) each under its own address.
  var address = document.querySelector('meta[name="survey-address"]');
  if (address && window.history.replaceState && window.location.pathname !== address.content) {
    window.history.replaceState(null, "", address.content);
  }

  document.querySelectorAll("form.survey-form").forEach(function (form) {
    form.querySelectorAll(".condition-hint").forEach(function (hint) { hint.hidden = true; });
    applyConditions(form);
    form.addEventListener("change", function () { applyConditions(form); });
    form.querySelectorAll("[data-other-for]").forEach(function (text) {
      text.addEventListener("input", function () {
        var name = text.getAttribute("data-other-for");
        var box = form.querySelector('[name="' + name + '"][value="__other__"]');
        if (box && text.value.trim() && !box.checked) {
          box.checked = true;
          applyConditions(form);
        }
      });
    });
  });

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      navigator.clipboard.writeText(input.value).then(function () {
        button.textContent = "Gekopieerd";
        setTimeout(function () { button.textContent = "Kopieer"; }, 2500);
      }, function () { input.select(); });
    });
  });

  document.querySelectorAll("[data-share-text]").forEach(function (button) {
    if (!navigator.share) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.share({ text: button.getAttribute("data-share-text") }).catch(function () {});
    });
  });

  var summary = document.getElementById("foutenoverzicht");
  if (summary) { summary.focus(); }
})();
