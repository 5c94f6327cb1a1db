/* Search page of lieux: small enhancements of a form that works without JavaScript.
 *
 * - « Me géolocaliser » (with site/js/geolocalisation.js, loaded before): fills `lat`/`lon` and submits
 *   the form (the button stays hidden when the browser cannot locate, and without JavaScript);
 * - a commune chosen among the box's suggestions (site/js/commune-autocomplete.js) starts a new
 *   search from it (its code in `commune`), the filters unchanged;
 * - shows the « Voir sur la carte / Voir la liste » switch (its links keep the whole search).
 */
(function () {
  "use strict";

  var form = document.getElementById("recherche-formulaire");
  if (!form) return;

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

  // « Me géolocaliser » (site/js/geolocalisation.js): the position replaces the commune and the text.
  if (window.mednumGeolocaliser) {
    window.mednumGeolocaliser(
      document.getElementById("recherche-geoloc"),
      document.getElementById("recherche-geoloc-message"),
      function (lat, lon) {
        var commune = form.querySelector('input[type="hidden"][name="commune"]');
        if (commune) commune.remove();
        var texte = form.querySelector('input[name="q"]');
        if (texte) texte.value = "";
        champCache("lat", lat);
        champCache("lon", lon);
        form.submit();
      }
    );
  }

  form.addEventListener("mednum:commune-choisie", function (event) {
    champCache("commune", event.detail.code);
    form.submit();
  });

  var vues = document.getElementById("choix-vue");
  if (vues && document.getElementById("carte")) vues.hidden = false;
})();
