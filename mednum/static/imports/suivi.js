/* The follow-up page of a background import: asks where the import stands every two seconds
 * (`data-etat-url`, JSON) and updates the bar and its text in place; once the import is done, loads the
 * page again, which then shows the report. Without this script, a link reloads the page by hand.
 *
 * Screen readers are told (a polite live region) when the import changes stage, moves on by a tenth,
 * or stops moving, not at every update.
 */
(function () {
  "use strict";

  var section = document.getElementById("suivi-import");
  if (!section || !window.fetch) return;
  var url = section.getAttribute("data-etat-url");
  var texte = document.getElementById("suivi-texte");
  var barre = document.getElementById("suivi-barre");
  var annonce = document.getElementById("suivi-annonce");
  var alerte = document.getElementById("suivi-alerte");
  var alerteTexte = document.getElementById("suivi-alerte-texte");
  var actualiser = document.getElementById("suivi-actualiser");
  if (actualiser) actualiser.hidden = true;

  var PERIODE_MS = 2000;
  var dernierPalier = null;
  var derniereEtape = null;
  var derniereAlerte = alerteTexte.textContent;
  var echecs = 0;

  function afficher(etat) {
    texte.textContent = etat.texte;
    if (etat.pourcentage === null) {
      barre.removeAttribute("value");
      barre.textContent = "";
    } else {
      barre.value = etat.pourcentage;
      barre.textContent = etat.pourcentage + " %";
    }
    alerteTexte.textContent = etat.alerte || "";
    alerte.hidden = !etat.alerte;
    var palier = etat.pourcentage === null ? null : Math.floor(etat.pourcentage / 10);
    if (etat.alerte && !derniereAlerte) {
      annonce.textContent = etat.alerte;
    } else if (etat.etape !== derniereEtape || palier !== dernierPalier) {
      annonce.textContent = etat.texte;
    }
    derniereEtape = etat.etape;
    dernierPalier = palier;
    derniereAlerte = etat.alerte || "";
  }

  function suivre() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (etat) {
        echecs = 0;
        if (etat.termine) {
          annonce.textContent = "L'import est terminé : affichage du rapport.";
          window.location.reload();
          return;
        }
        afficher(etat);
        window.setTimeout(suivre, PERIODE_MS);
      })
      .catch(function () {
        echecs += 1;
        if (echecs >= 5) {
          // The server does not answer: leave the reloading to the person.
          if (actualiser) actualiser.hidden = false;
          return;
        }
        window.setTimeout(suivre, PERIODE_MS * echecs);
      });
  }

  derniereEtape = section.getAttribute("data-etape");
  dernierPalier = barre.hasAttribute("value") ? Math.floor(barre.value / 10) : null;
  window.setTimeout(suivre, PERIODE_MS);
})();
