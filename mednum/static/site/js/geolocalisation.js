/* Home page: « Me géolocaliser » asks the browser for the position, then opens the lieux near it.
 * The button stays hidden without JavaScript or when the browser cannot locate; the search box
 * always works. */
(function () {
  "use strict";
  var bouton = document.getElementById("accueil-geoloc");
  if (!bouton || !("geolocation" in navigator)) return;
  var message = document.getElementById("accueil-geoloc-message");
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
        var params = new URLSearchParams({
          lat: position.coords.latitude.toFixed(5),
          lon: position.coords.longitude.toFixed(5)
        });
        window.location.assign(bouton.getAttribute("data-url") + "?" + params.toString());
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
})();
