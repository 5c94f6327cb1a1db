/* Search page of lieux: small enhancements of a form that works without JavaScript.
 *
 * - « Me géolocaliser »: asks the browser for the position, fills `lat`/`lon` and submits the form
 *   (the button is hidden when the browser cannot locate, and without JavaScript);
 * - shows the « Voir sur la carte / Voir la liste » switch (its links keep the whole search).
 */
(function () {
  "use strict";

  var form = document.getElementById("recherche-formulaire");
  if (!form) return;

  var bouton = document.getElementById("recherche-geoloc");
  var message = document.getElementById("recherche-geoloc-message");

  function dire(texte) {
    if (message) message.textContent = texte;
  }

  function champCache(nom, valeur) {
    var champ = form.querySelector('input[type="hidden"][name="' + nom + '"]');
    if (!champ) {
      champ = document.createElement("input");
      champ.type = "hidden";
      champ.name = nom;
      form.appendChild(champ);
    }
    champ.value = valeur;
  }

  if (bouton && "geolocation" in navigator) {
    bouton.hidden = false;
    bouton.addEventListener("click", function () {
      bouton.setAttribute("aria-disabled", "true");
      dire("Recherche de votre position…");
      navigator.geolocation.getCurrentPosition(
        function (position) {
          var commune = form.querySelector('input[type="hidden"][name="commune"]');
          if (commune) commune.remove();
          var texte = form.querySelector('input[name="q"]');
          if (texte) texte.value = "";
          champCache("lat", position.coords.latitude.toFixed(5));
          champCache("lon", position.coords.longitude.toFixed(5));
          dire("Position trouvée, recherche des lieux proches…");
          form.submit();
        },
        function (erreur) {
          bouton.removeAttribute("aria-disabled");
          dire(
            erreur && erreur.code === 1
              ? "Vous n’avez pas autorisé la géolocalisation : saisissez votre commune ou votre code postal."
              : "Votre position n’a pas pu être trouvée : saisissez votre commune ou votre code postal."
          );
        },
        { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 }
      );
    });
  }

  var vues = document.getElementById("choix-vue");
  if (vues && document.getElementById("carte")) vues.hidden = false;
})();
