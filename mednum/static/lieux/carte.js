/* The map of lieux (MapLibre GL, vendored under static/vendor/maplibre-gl/).
 *
 * An addition to the list, never a replacement: the section stays hidden without JavaScript or WebGL.
 * It asks /api/v1/carte for what to draw in the visible box, with the page's filters, after every
 * move: counts per région or département at low zoom, grid clusters from the server at middle zoom,
 * points at high zoom. Counts are HTML labels over the circles, so no font server is needed; the
 * base layer is built here from the outlines of régions and départements shipped with the site, or
 * comes from an online style when the site sets MEDNUM_MAP_STYLE_URL (the offline base replaces it
 * when it cannot be loaded: server down, network filtered, no answer within ATTENTE_STYLE_MS).
 *
 * For tests and measurements: `window.mednumCarte` is the map; `window.mednumCarteEtat` tells when
 * the first data was drawn (`premierRendu`, milliseconds since navigation start).
 */
(function () {
  "use strict";

  var section = document.getElementById("carte");
  if (!section) return;
  var conteneur = document.getElementById("carte-maplibre");
  var etatTexte = document.getElementById("carte-etat");
  var d = section.dataset;
  var etat = { premierRendu: null, chargements: 0, erreurs: 0 };
  window.mednumCarteEtat = etat;

  function webglDisponible() {
    try {
      var canvas = document.createElement("canvas");
      return !!(window.WebGL2RenderingContext && canvas.getContext("webgl2")) || !!canvas.getContext("webgl");
    } catch (e) {
      return false;
    }
  }

  if (!window.maplibregl || !webglDisponible()) {
    section.hidden = false;
    conteneur.remove();
    if (etatTexte) etatTexte.textContent = "La carte ne peut pas s’afficher sur cet appareil. La liste contient tous les lieux.";
    return;
  }
  section.hidden = false;

  var BLEU = "#000091";
  var ROUGE = "#e1000f";
  var VIDE = { type: "FeatureCollection", features: [] };
  var ATTENTE_STYLE_MS = 8000;
  var enLigne = !!d.styleUrl; // the base map comes from MEDNUM_MAP_STYLE_URL (until it fails)

  /* The offline base: a background, then the lieux's own layers, all in the first style so that the
   * map can draw the first data as soon as it arrives; the list's radius and the outlines of régions
   * and départements come under the lieux once the first data is drawn (`ajouterDecor`). */
  function styleHorsLigne() {
    var style = {
      version: 8,
      sources: {},
      layers: [{ id: "fond", type: "background", paint: { "background-color": "#e3eaf2" } }]
    };
    var couches = couchesDesLieux();
    Object.assign(style.sources, couches.sources);
    style.layers = style.layers.concat(couches.layers);
    return style;
  }

  /* The list's distance around its starting point (`data-rayon-km`), a dashed circle under the lieux.
   * Added after the first data is drawn: a line layer more in the first frame delays the lieux by
   * ~0.1 s on a computer without graphics acceleration (its shaders are compiled in software). */
  function ajouterRayon() {
    var rayon = parseFloat(d.rayonKm);
    if (!(rayon > 0) || map.getSource("rayon")) return;
    map.addSource("rayon", { type: "geojson", data: cercle(parseFloat(d.lon), parseFloat(d.lat), rayon) });
    map.addLayer({
      id: "rayon", type: "line", source: "rayon",
      paint: { "line-color": BLEU, "line-width": 2, "line-dasharray": [3, 2] }
    }, "groupes");
  }

  /* The outlines (they weigh 2 MB), under the radius and the lieux; only on the offline base. */
  function ajouterContours() {
    if (enLigne || map.getSource("departements")) return;
    var dessous = map.getLayer("rayon") ? "rayon" : "groupes";
    var attribution = "Contours : IGN, ADMIN EXPRESS (Licence Ouverte 2.0)";
    map.addSource("regions", { type: "geojson", data: d.regions, attribution: attribution });
    map.addSource("departements", { type: "geojson", data: d.departements, attribution: attribution });
    map.addLayer({
      id: "departements-surface", type: "fill", source: "departements", paint: { "fill-color": "#fbfbfb" }
    }, dessous);
    map.addLayer({
      id: "departements-contour", type: "line", source: "departements", minzoom: 5,
      paint: { "line-color": "#929292", "line-width": ["interpolate", ["linear"], ["zoom"], 5, 0.4, 10, 1.2] }
    }, dessous);
    map.addLayer({
      id: "regions-contour", type: "line", source: "regions",
      paint: { "line-color": "#6a6af4", "line-width": ["interpolate", ["linear"], ["zoom"], 3, 0.8, 10, 2] }
    }, dessous);
  }

  var options = {
    container: conteneur,
    style: enLigne ? d.styleUrl : styleHorsLigne(),
    // Our own style, fixed and tested, skips MapLibre's style checker (~0.08 s less before the first
    // drawing on a slow computer, paired loads); an online style, written elsewhere, is still checked.
    validateStyle: enLigne,
    center: [parseFloat(d.lon), parseFloat(d.lat)],
    zoom: parseFloat(d.zoom),
    minZoom: 2,
    maxZoom: 18,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    attributionControl: { compact: true },
    locale: {
      "Map.Title": "Carte des lieux de médiation numérique",
      "NavigationControl.ZoomIn": "Zoomer",
      "NavigationControl.ZoomOut": "Dézoomer",
      "NavigationControl.ResetBearing": "Remettre le nord en haut",
      "Popup.Close": "Fermer",
      "AttributionControl.ToggleAttribution": "Afficher les sources de la carte",
      "Marker.Title": "Lieu",
      "FullscreenControl.Enter": "Afficher la carte en plein écran",
      "FullscreenControl.Exit": "Quitter le plein écran",
      "ScaleControl.Meters": "m",
      "ScaleControl.Kilometers": "km"
    }
  };
  if (d.bbox) {
    var b = d.bbox.split(",").map(parseFloat);
    if (b.length === 4 && b.every(isFinite)) {
      options.bounds = [[b[0], b[1]], [b[2], b[3]]];
      options.fitBoundsOptions = { padding: 20 };
    }
  }

  var map = new maplibregl.Map(options);
  window.mednumCarte = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  // MapLibre names its canvas « Carte … » (locale) with role region; the container already has one.
  var canvas = map.getCanvas();
  canvas.setAttribute("aria-describedby", "carte-description");

  var pret = false; // the style is loaded and our layers added
  var enAttente = null; // data that arrived before
  var marqueurs = [];
  var controleur = null;
  var minuteur = null;

  /* The list's distance around its starting point, as a circle: the list holds the lieux inside it,
   * the map every lieu of its visible part. Flat-earth offsets: under 0.1 % off at 100 km. */
  function cercle(lon, lat, km) {
    var coordonnees = [];
    var angle = km / 6371.0088;
    var cosLat = Math.cos(lat * Math.PI / 180);
    for (var i = 0; i <= 96; i += 1) {
      var a = 2 * Math.PI * i / 96;
      coordonnees.push([
        lon + angle * Math.sin(a) / cosLat * 180 / Math.PI,
        lat + angle * Math.cos(a) * 180 / Math.PI
      ]);
    }
    return { type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: coordonnees } };
  }

  /* The lieux's source and layers: the counts (clusters, régions, départements) and the lieux. */
  function couchesDesLieux() {
    var sources = { resultats: { type: "geojson", data: VIDE } };
    var layers = [];
    layers.push({
      id: "groupes",
      type: "circle",
      source: "resultats",
      filter: ["!=", ["get", "genre"], "lieu"],
      paint: {
        "circle-color": BLEU,
        "circle-opacity": 0.85,
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 2,
        "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "nombre"]], 1, 12, 10, 22, 40, 34]
      }
    });
    layers.push({
      id: "lieux",
      type: "circle",
      source: "resultats",
      filter: ["==", ["get", "genre"], "lieu"],
      paint: {
        "circle-color": ROUGE,
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 2,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 5, 14, 8]
      }
    });
    return { sources: sources, layers: layers };
  }

  /* What surrounds the lieux (the radius, the outlines), once: after the first data is drawn, or as soon
   * as the style is ready if that data could not be loaded. */
  var decorAjoute = false;
  function ajouterDecor() {
    if (decorAjoute || !pret) return;
    decorAjoute = true;
    ajouterRayon();
    ajouterContours();
  }

  /* An online style: the lieux's layers go on top of it once it is loaded. */
  function ajouterCouches() {
    var couches = couchesDesLieux();
    Object.keys(couches.sources).forEach(function (id) { map.addSource(id, couches.sources[id]); });
    couches.layers.forEach(function (layer) { map.addLayer(layer); });
  }

  /* /api/v1/carte answer → GeoJSON features with `genre` (region, departement, grappe, lieu) and `nombre`. */
  function versGeojson(data) {
    var features = [];
    function point(lon, lat, props) {
      features.push({ type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] }, properties: props });
    }
    var genreTerritoire = data.mode === "departements" ? "departement" : "region";
    (data.territoires || []).forEach(function (t) {
      if (t[4] > 0) point(t[3], t[2], { genre: genreTerritoire, code: t[0], nom: t[1], nombre: t[4] });
    });
    (data.grappes || []).forEach(function (g) {
      point(g[1], g[0], { genre: "grappe", nombre: g[2] });
    });
    (data.points || []).forEach(function (p) {
      point(p[2], p[1], { genre: "lieu", id: p[0], type: p[3] || "", nombre: 1 });
    });
    return { type: "FeatureCollection", features: features, nombre: data.nombre || 0, mode: data.mode };
  }

  function afficherComptes(collection) {
    marqueurs.forEach(function (m) { m.remove(); });
    marqueurs = [];
    collection.features.forEach(function (f) {
      if (f.properties.genre === "lieu") return;
      var el = document.createElement("span");
      el.className = "lieux-carte__compte";
      el.setAttribute("aria-hidden", "true");
      el.textContent = f.properties.nombre >= 10000 ? Math.round(f.properties.nombre / 1000) + " k" : String(f.properties.nombre);
      marqueurs.push(new maplibregl.Marker({ element: el }).setLngLat(f.geometry.coordinates).addTo(map));
    });
  }

  /* How many lieux the visible part holds. The server's clusters cover whole cells of its grid, up to
   * a cell beyond the edges of the map: counted from what lies within the map's bounds. */
  function nombreVisible(collection) {
    if (collection.mode === "regions" || collection.mode === "departements") return collection.nombre;
    var limites = map.getBounds();
    return collection.features.reduce(function (n, f) {
      return limites.contains(f.geometry.coordinates) ? n + f.properties.nombre : n;
    }, 0);
  }

  function dire(collection) {
    if (!etatTexte) return;
    var n = nombreVisible(collection);
    var texte = n === 0 ? "Aucun lieu dans cette partie de la carte." : n + (n > 1 ? " lieux" : " lieu") + " dans cette partie de la carte";
    if (collection.mode === "regions") texte += " (nombres par région)";
    else if (collection.mode === "departements") texte += " (nombres par département)";
    // The list found nothing within its radius: the lieux the map shows are farther away.
    else if (n > 0 && d.listeVideKm) texte += n > 1 ? ", tous à plus de " + d.listeVideKm + " km" : ", à plus de " + d.listeVideKm + " km";
    etatTexte.textContent = n === 0 ? texte : texte + ".";
  }

  function emprise() {
    var b = map.getBounds();
    var w = Math.max(-180, b.getWest()), s = Math.max(-89.9, b.getSouth());
    var e = Math.min(180, b.getEast()), n = Math.min(89.9, b.getNorth());
    return [w, s, e, n].map(function (v) { return v.toFixed(5); }).join(",");
  }

  function charger() {
    var params = new URLSearchParams(d.filtres || "");
    params.set("bbox", emprise());
    // The API counts zoom levels in 256-pixel tiles; MapLibre's are 512 pixels: one level apart.
    params.set("z", String(Math.max(0, Math.min(22, Math.round(map.getZoom() + 1)))));
    if (controleur) controleur.abort();
    controleur = window.AbortController ? new AbortController() : null;
    fetch(d.api + "?" + params.toString(), {
      headers: { Accept: "application/json" },
      signal: controleur ? controleur.signal : undefined
    })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        var collection = versGeojson(data);
        if (pret) appliquer(collection);
        else enAttente = collection;
      })
      .catch(function (erreur) {
        if (erreur && erreur.name === "AbortError") return;
        etat.erreurs += 1;
        ajouterDecor();
        if (etatTexte) etatTexte.textContent = "Les lieux n’ont pas pu être chargés sur la carte. La liste reste disponible.";
      });
  }

  function appliquer(collection) {
    map.getSource("resultats").setData(collection);
    afficherComptes(collection);
    dire(collection);
    etat.chargements += 1;
    if (etat.premierRendu === null) {
      map.once("idle", function () {
        etat.premierRendu = performance.now();
        section.setAttribute("data-rendu", "1");
        ajouterDecor();
      });
      map.triggerRepaint();
    }
  }

  function plusTard() {
    clearTimeout(minuteur);
    minuteur = setTimeout(charger, 120);
  }

  function zoomerSur(feature) {
    var genre = feature.properties.genre;
    var cible = genre === "region" ? 7 : genre === "departement" ? 9 : map.getZoom() + 2;
    map.easeTo({ center: feature.geometry.coordinates, zoom: Math.min(cible, 16) });
  }

  function ouvrirLieu(feature) {
    var id = feature.properties.id;
    var contenu = document.createElement("div");
    contenu.className = "lieux-carte__popup";
    var lien = document.createElement("a");
    lien.href = "/lieux/" + encodeURIComponent(id) + "/";
    lien.textContent = "Voir la fiche du lieu";
    contenu.appendChild(lien);
    var popup = new maplibregl.Popup({ closeButton: true, maxWidth: "260px" })
      .setLngLat(feature.geometry.coordinates)
      .setDOMContent(contenu)
      .addTo(map);
    fetch("/api/v1/lieux/" + encodeURIComponent(id), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (lieu) {
        if (!lieu || !popup.isOpen()) return;
        lien.textContent = lieu.nom;
        if (lieu.slug) lien.href = "/lieux/" + encodeURIComponent(lieu.slug + "-" + lieu.id) + "/";
        var adresse = document.createElement("p");
        adresse.className = "fr-text--sm fr-mb-0";
        adresse.textContent = [lieu.adresse, (lieu.code_postal || "") + " " + (lieu.commune || "")].join(", ");
        contenu.appendChild(adresse);
      })
      .catch(function () {});
  }

  // The first data is asked for at once, while the map loads.
  charger();
  // The first data is drawn as soon as the style is ready, without waiting for the map's first frame.
  function styleCharge() {
    if (enLigne) ajouterCouches();
    pret = true;
    map.off("error", horsLigne); // from now on an error (a tile) leaves the style in place
    if (enAttente) {
      appliquer(enAttente);
      enAttente = null;
    } else if (etat.erreurs) {
      ajouterDecor();
    }
  }
  if (map.isStyleLoaded()) styleCharge();
  else map.once("style.load", styleCharge);

  /* The online style could not be loaded (an error before it was ready, or no answer in time): the
   * offline base instead, so that the map still shows the lieux. Errors once it is ready (a tile that
   * does not load) leave it in place: the listener is removed then (`styleCharge`). */
  function horsLigne() {
    if (!enLigne || pret) return;
    enLigne = false;
    map.setStyle(styleHorsLigne(), { diff: false, validate: false });
  }
  if (enLigne) {
    map.on("error", horsLigne);
    setTimeout(horsLigne, ATTENTE_STYLE_MS);
  }
  map.on("load", function () {
    map.on("moveend", plusTard);
    map.on("click", "groupes", function (e) { if (e.features && e.features[0]) zoomerSur(e.features[0]); });
    map.on("click", "lieux", function (e) { if (e.features && e.features[0]) ouvrirLieu(e.features[0]); });
    ["groupes", "lieux"].forEach(function (couche) {
      map.on("mouseenter", couche, function () { map.getCanvas().style.cursor = "pointer"; });
      map.on("mouseleave", couche, function () { map.getCanvas().style.cursor = ""; });
    });
  });
})();
