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
})();
