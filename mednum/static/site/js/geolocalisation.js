/* « Me géolocaliser »: asks the browser for the position and hands it over.
 *
 * `mednumGeolocaliser(bouton, message, quandTrouvee)` shows the button (hidden without JavaScript or
 * when the browser cannot locate), says in `message` (a role="status" element) what happens, and calls
 * `quandTrouvee(lat, lon)` with the position rounded to 5 decimals (about a metre).
 *
 * On the home page, the button `#accueil-geoloc` opens the lieux near the position.
 */
(function () {
  "use strict";

  function geolocaliser(bouton, message, quandTrouvee) {
    if (!bouton || !("geolocation" in navigator)) return;
    function dire(texte) {
      if (message) message.textContent = texte;
    }
    bouton.hidden = false;
    bouton.addEventListener("click", function () {
      bouton.setAttribute("aria-disabled", "true");
      dire("Recherche de votre position…");
      navigator.geolocation.getCurrentPosition(
        function (position) {
          dire("Position trouvée, recherche des lieux proches…");
          quandTrouvee(position.coords.latitude.toFixed(5), position.coords.longitude.toFixed(5));
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

  window.mednumGeolocaliser = geolocaliser;

  var accueil = document.getElementById("accueil-geoloc");
  if (accueil) {
    geolocaliser(accueil, document.getElementById("accueil-geoloc-message"), function (lat, lon) {
      var params = new URLSearchParams({ lat: lat, lon: lon });
      window.location.assign(accueil.getAttribute("data-url") + "?" + params.toString());
    });
  }
})();
