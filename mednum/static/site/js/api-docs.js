/* The API explorer (Swagger UI, mednum/templates/ninja/swagger.html): what Swagger UI leaves out for
 * screen-reader and keyboard users, added as its panels open.
 * - a form field of a parameter gets that parameter's name as its accessible name;
 * - the choice of an example is named « Exemple »;
 * - a code block that scrolls sideways can take the keyboard focus (to scroll it with the arrows).
 */
(function () {
  "use strict";

  var racine = document.getElementById("swagger-ui");
  if (!racine || !window.MutationObserver) return;

  function sansNom(element) {
    if (element.getAttribute("aria-label") || element.getAttribute("aria-labelledby")) return false;
    return !(element.id && document.querySelector('label[for="' + element.id + '"]'));
  }

  function completer() {
    racine.querySelectorAll("tr[data-param-name] select, tr[data-param-name] input, tr[data-param-name] textarea")
      .forEach(function (champ) {
        if (sansNom(champ)) champ.setAttribute("aria-label", champ.closest("tr").getAttribute("data-param-name"));
      });
    racine.querySelectorAll("select.examples-select-element").forEach(function (choix) {
      if (sansNom(choix)) choix.setAttribute("aria-label", "Exemple");
    });
    racine.querySelectorAll("pre.microlight:not([tabindex])").forEach(function (bloc) {
      bloc.setAttribute("tabindex", "0");
    });
  }

  var prevu = false;
  new MutationObserver(function () {
    if (prevu) return;
    prevu = true;
    window.requestAnimationFrame(function () {
      prevu = false;
      completer();
    });
  }).observe(racine, { childList: true, subtree: true });
})();
