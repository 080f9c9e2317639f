// Live search suggestions: an enhancement only; every form works without JavaScript.
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  function attach(input) {
    var endpoint = input.getAttribute("data-suggest");
    var lang = input.getAttribute("data-lang") || document.documentElement.lang;
    var limit = input.getAttribute("data-limit") || "6";
    var list = document.createElement("ul");
    var listId = input.id + "-suggestions";
    var status = document.createElement("p");
    var active = -1;
    var controller = null;

    list.id = listId;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.parentNode.appendChild(list);
    input.parentNode.appendChild(status);

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var options = list.querySelectorAll("a");
      if (!options.length) { return; }
      active = (index + options.length) % options.length;
      options.forEach(function (option, i) { option.setAttribute("aria-selected", i === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", options[active].id);
    }

    function show(data) {
      list.innerHTML = "";
      active = -1;
      var results = data.results || [];
      results.forEach(function (result, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "presentation");
        var a = document.createElement("a");
        a.href = result.url;
        a.id = listId + "-" + i;
        a.setAttribute("role", "option");
        a.setAttribute("aria-selected", "false");
        a.textContent = result.title;
        if (result.lang !== lang) {
          var note = document.createElement("span");
          note.className = "other-lang";
          note.textContent = " (" + result.lang.toUpperCase() + ")";
          a.setAttribute("hreflang", result.lang);
          a.appendChild(note);
        }
        li.appendChild(a);
        list.appendChild(li);
      });
      var message = input.getAttribute("data-count-" + (results.length === 1 ? "one" : "other")) ||
        (results.length + (lang === "nl" ? " suggesties" : " suggestions"));
      status.textContent = message.replace("%d", results.length);
      list.hidden = results.length === 0;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
      if (typeof input.onsuggestions === "function") { input.onsuggestions(results); }
    }

    var lookup = debounce(function () {
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      if (controller) { controller.abort(); }
      controller = new AbortController();
      var url = endpoint + "?q=" + encodeURIComponent(q) + "&lang=" + encodeURIComponent(lang) + "&limit=" + limit;
      fetch(url, { signal: controller.signal, headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(show)
        .catch(function () { /* offline or aborted: the form still works */ });
    }, 200);

    input.addEventListener("input", lookup);
    input.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      // The first Escape only closes the list; a search field would also clear what was typed.
      else if (event.key === "Escape") { event.preventDefault(); close(); }
      else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        window.location.href = list.querySelectorAll("a")[active].href;
      }
    });
    document.addEventListener("click", function (event) {
      if (!input.parentNode.contains(event.target)) { close(); }
    });
  }

  document.querySelectorAll("input[data-suggest]").forEach(attach);
})();

// Support desk: "Insert link" puts the article link at the cursor instead of reloading the page.
(function () {
  "use strict";
  var body = document.getElementById("body");
  if (!body) { return; }
  document.querySelectorAll("button[data-insert]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var text = button.getAttribute("data-insert");
      var start = body.selectionStart || body.value.length, end = body.selectionEnd || body.value.length;
      var before = body.value.slice(0, start), after = body.value.slice(end);
      var prefix = before && !/\n$/.test(before) ? "\n" : "";
      body.value = before + prefix + text + "\n" + after;
      var caret = (before + prefix + text + "\n").length;
      body.focus();
      body.setSelectionRange(caret, caret);
    });
  });
})();

// Question form: articles that may answer the question appear while the customer types.
(function () {
  "use strict";
  var question = document.querySelector("textarea[data-suggest-articles]");
  var subject = document.getElementById("subject");
  var box = document.getElementById("question-suggestions");
  if (!question || !box) { return; }
  var list = box.querySelector("ul");
  var endpoint = question.getAttribute("data-suggest-articles");
  var lang = question.getAttribute("data-lang") || document.documentElement.lang;
  var timer = null, controller = null;

  function lookup() {
    var text = ((subject ? subject.value + " " : "") + question.value).replace(/\s+/g, " ").trim();
    if (text.length < 8) { box.hidden = true; return; }
    // The API reads up to 2,000 characters and picks the words that say most itself, so the
    // whole question is sent: the program named at its end counts as much as at its start.
    text = text.slice(0, 2000);
    if (controller) { controller.abort(); }
    controller = new AbortController();
    fetch(endpoint + "?q=" + encodeURIComponent(text) + "&lang=" + lang + "&limit=4",
          { signal: controller.signal, headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) {
        list.innerHTML = "";
        (data.results || []).forEach(function (result) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          // The section that answers best, when it is not the article's start.
          a.href = result.section ? result.section.url : result.url;
          a.textContent = result.section ? result.title + ": " + result.section.title : result.title;
          a.target = "_blank";
          a.rel = "noopener";
          li.appendChild(a);
          list.appendChild(li);
        });
        box.hidden = !list.children.length;
      })
      .catch(function () { /* the form works without suggestions */ });
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(lookup, 400); }
  question.addEventListener("input", schedule);
  if (subject) { subject.addEventListener("input", schedule); }
})();
