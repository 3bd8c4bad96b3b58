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
      var field = element.querySelector("textarea, input:not([type=hidden]), select");
      if (field) field.focus();
      return;
    }
    if (element.tagName.toLowerCase() === "button" || element.tagName.toLowerCase() === "a") {
      element.click();
      return;
    }
    element.focus();
  });
})();
