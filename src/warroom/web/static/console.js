// warroom console: keyboard shortcuts. An element with data-shortcut="a" is clicked (a button) or focused (a field,
// or the first field inside it) when that key is pressed outside a text field without modifiers.
(function () {
  "use strict";
  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    if (!key || key.length !== 1) return;
    var element = document.querySelector('[data-shortcut="' + key.toLowerCase() + '"]');
    if (!element) return;
    event.preventDefault();
    if (element.tagName.toLowerCase() === "details") {
      element.open = true;
      // The text to write comes first (a status update's message), else the first field.
      var field = element.querySelector("textarea") || element.querySelector("input:not([type=hidden]), select");
      if (field) field.focus();
      return;
    }
    if (element.tagName.toLowerCase() === "button" || element.tagName.toLowerCase() === "a") {
      element.click();
      return;
    }
    element.focus();
  });

  // The live timeline (htmx's SSE extension): skip an event already on the page (an action's own answer showed
  // it), and reload when the server says so (it is stopping, or this page fell too far behind).
  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    var message = event.detail;
    if (!message) return;
    if (message.type === "reload") {
      event.preventDefault();
      window.setTimeout(function () { window.location.reload(); }, 1000);
      return;
    }
    if (message.lastEventId && document.getElementById("event-" + message.lastEventId)) event.preventDefault();
  });

  // Durations as they run: a cell rendered with data-seconds counts on from when it appeared (the browser's own
  // clock only measures the time since, so a skewed clock does not matter). Same format as the server's.
  function duration(total) {
    total = Math.floor(Math.abs(total));
    var days = Math.floor(total / 86400), hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60), seconds = total % 60;
    if (days) return hours ? days + "d " + hours + "h" : days + "d";
    if (hours) return minutes ? hours + "h " + minutes + "m" : hours + "h";
    if (minutes) return seconds ? minutes + "m " + seconds + "s" : minutes + "m";
    return seconds + "s";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-tick]").forEach(function (cell) {
      if (!cell.dataset.base) { cell.dataset.base = String(now); return; }
      var passed = (now - Number(cell.dataset.base)) / 1000;
      var value = Number(cell.dataset.seconds);
      if (cell.dataset.tick === "elapsed") {
        cell.textContent = duration(value + passed) + " so far";
      } else {
        var left = value - passed;
        cell.textContent = left >= 0 ? "running (" + duration(left) + " left)" : "missed (" + duration(left) + " over)";
        cell.className = left >= 0 ? "" : "late";
      }
    });
  }
  tick();
  document.addEventListener("htmx:afterSettle", tick);
  window.setInterval(tick, 5000);
})();
