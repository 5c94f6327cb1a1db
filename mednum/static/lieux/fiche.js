/* A lieu's page: « Imprimer la fiche » and « Copier le lien » buttons (hidden without JavaScript).
 * Also used by the widget documentation page to copy the iframe code. */
(function () {
  "use strict";

  var imprimer = document.getElementById("fiche-imprimer");
  if (imprimer) {
    imprimer.hidden = false;
    imprimer.addEventListener("click", function () {
      window.print();
    });
  }

  function copier(bouton, texte, message) {
    if (!bouton || !navigator.clipboard) return;
    bouton.hidden = false;
    bouton.addEventListener("click", function () {
      navigator.clipboard.writeText(texte()).then(
        function () {
          if (message) message.textContent = "C’est copié : vous pouvez le coller où vous voulez.";
        },
        function () {
          if (message) message.textContent = "La copie n’a pas fonctionné : sélectionnez le texte et copiez-le.";
        }
      );
    });
  }

  var lien = document.getElementById("fiche-copier");
  if (lien) {
    copier(lien, function () { return lien.getAttribute("data-url"); }, document.getElementById("fiche-copier-message"));
  }

  var code = document.getElementById("copier-iframe");
  if (code) {
    var cible = document.getElementById(code.getAttribute("data-cible"));
    copier(code, function () { return cible.value; }, document.getElementById("copier-iframe-message"));
  }
})();
