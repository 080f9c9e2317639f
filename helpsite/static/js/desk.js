// Support desk composer: searching the articles fetches the results without reloading the page,
// so the reply typed so far and its cursor stay where they are, and the site's search box in the
// header is left alone. Without JavaScript the Search button posts the form and it still works.
(function () {
  "use strict";
  var input = document.getElementById("article-q");
  var results = document.getElementById("article-search-results");
  var body = document.getElementById("body");
  if (!input || !results || !window.fetch || !window.DOMParser) { return; }
  var button = input.form.querySelector("button[name=search]");
  var controller = null;

  function search(event) {
    event.preventDefault();
    var q = input.value.trim();
    var url = input.getAttribute("data-search-url") + "?q=" + encodeURIComponent(q);
    if (controller) { controller.abort(); }
    controller = new AbortController();
    results.setAttribute("aria-busy", "true");
    fetch(url, { signal: controller.signal, credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("article-search-results");
        if (fresh) { results.innerHTML = fresh.innerHTML; }
      })
      .catch(function () { /* keep what was there; the button without JavaScript still works */ })
      .then(function () { results.removeAttribute("aria-busy"); });
  }

  if (button) { button.addEventListener("click", search); }
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { search(event); }
  });

  // "Insert link" in fetched results: put the link at the reply's cursor (site.js handles the
  // buttons that came with the page and marks the click as handled).
  results.addEventListener("click", function (event) {
    var target = event.target.closest("button[data-insert]");
    if (!target || event.defaultPrevented || !body) { return; }
    event.preventDefault();
    var text = target.getAttribute("data-insert");
    var start = body.selectionStart, end = body.selectionEnd;
    if (typeof start !== "number") { start = end = body.value.length; }
    var before = body.value.slice(0, start), after = body.value.slice(end);
    var prefix = before && !/\n$/.test(before) ? "\n" : "";
    body.value = before + prefix + text + "\n" + after;
    var caret = (before + prefix + text + "\n").length;
    body.focus();
    body.setSelectionRange(caret, caret);
  });
})();
