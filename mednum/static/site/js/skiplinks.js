// Skip links whose target sits in a closed dialog (on a phone, the header's menu and search are
// dialogs opened by a button): open the dialog, then put the focus on the target. Without this, the
// link went nowhere and the focus stayed on the page's body.
(function () {
  "use strict";

  function shown(element) {
    // A closed dialog of the design system keeps its box but is `visibility: hidden`.
    return element.getClientRects().length > 0 && window.getComputedStyle(element).visibility !== "hidden";
  }

  function focusTarget(target) {
    if (target.matches("a[href], button, input, select, textarea, [tabindex]")) {
      return target;
    }
    return target.querySelector("a[href], button, input, select, textarea") || target;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest(".fr-skiplinks a[href^='#']");
    if (!link) {
      return;
    }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target || shown(target)) {
      return;
    }
    var dialog = target.closest("dialog[id], .fr-modal[id]");
    var opener = dialog && document.querySelector("[aria-controls='" + dialog.id + "']:not(.fr-btn--close)");
    if (!opener || !shown(opener)) {
      return;
    }
    event.preventDefault();
    opener.click();
    var frames = 0;
    (function focusOnceShown() {
      // The design system opens the dialog with a transition, then focuses its first button: wait
      // until the target is shown and the dialog has taken the focus, then move it to the target.
      if ((shown(target) && dialog.contains(document.activeElement)) || frames > 60) {
        focusTarget(target).focus();
        return;
      }
      frames += 1;
      window.requestAnimationFrame(focusOnceShown);
    })();
  });
})();
