/*
 * Suggestions of communes while typing in the search box, from GET /api/v1/communes.
 *
 * Follows the ARIA combobox pattern with a listbox popup: the input gets role="combobox",
 * aria-expanded and aria-activedescendant; Down/Up arrows move through the suggestions, Enter opens
 * the chosen commune, Escape closes the list (a second Escape empties the field); the number of
 * suggestions is announced through a polite live region.
 *
 * Enhancement only: without JavaScript the form is a plain GET form and the server lists the
 * communes. Used on inputs carrying `data-commune-autocomplete`, `data-api-url` and, optionally,
 * `data-commune-url` (a commune page URL whose code is written 00000): the choice opens it. Without
 * it, the input dispatches a bubbling `mednum:commune-choisie` event whose `detail` is the commune
 * chosen (an item of the API), for the page's own script to use.
 */
(function () {
  "use strict";

  var MIN_CHARACTERS = 2;
  var DELAY_MS = 200;
  var LIMIT = 8;

  function countLettersAndDigits(text) {
    var matches = text.match(/[0-9A-Za-zÀ-ÖØ-öø-ÿŒœ]/g);
    return matches ? matches.length : 0;
  }

  function describe(commune) {
    var parts = [];
    if (commune.codes_postaux && commune.codes_postaux.length) {
      parts.push(commune.codes_postaux.length > 3
        ? commune.codes_postaux.slice(0, 3).join(", ") + "…"
        : commune.codes_postaux.join(", "));
    }
    if (commune.departement) {
      parts.push(commune.departement.nom + " (" + commune.departement.code + ")");
    }
    return parts.join(" — ");
  }

  function setup(input) {
    var apiUrl = input.getAttribute("data-api-url");
    var communeUrl = input.getAttribute("data-commune-url");
    var listId = input.id + "-suggestions";
    var items = [];
    var active = -1;
    var timer = null;
    var controller = null;
    var shownFor = null;

    var list = document.createElement("ul");
    list.id = listId;
    list.className = "mednum-autocomplete__liste";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Communes proposées");
    list.hidden = true;

    var status = document.createElement("div");
    status.className = "fr-sr-only";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    status.setAttribute("aria-atomic", "true");

    input.insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");

    function announce(text) {
      // Emptied first so that the same sentence twice is read twice.
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 50);
    }

    function isOpen() {
      return !list.hidden;
    }

    function open() {
      if (items.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function setActive(index) {
      var options = list.children;
      if (active >= 0 && options[active]) {
        options[active].setAttribute("aria-selected", "false");
      }
      active = index;
      if (active >= 0 && options[active]) {
        options[active].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", options[active].id);
        options[active].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var commune = items[index];
      if (!commune) {
        return;
      }
      input.value = commune.nom;
      close();
      if (communeUrl) {
        window.location.assign(communeUrl.replace("00000", encodeURIComponent(commune.code)));
      } else {
        input.dispatchEvent(new CustomEvent("mednum:commune-choisie", { bubbles: true, detail: commune }));
      }
    }

    function render(communes) {
      items = communes;
      active = -1;
      list.textContent = "";
      communes.forEach(function (commune, index) {
        var option = document.createElement("li");
        option.id = listId + "-" + index;
        option.className = "mednum-autocomplete__option";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        var name = document.createElement("span");
        name.className = "mednum-autocomplete__nom";
        name.textContent = commune.nom;
        var detail = document.createElement("span");
        detail.className = "mednum-autocomplete__detail";
        detail.textContent = describe(commune);
        option.appendChild(name);
        option.appendChild(document.createTextNode(" "));
        option.appendChild(detail);
        // Keep the focus in the field when the option is clicked or touched.
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });
        option.addEventListener("click", function () { choose(index); });
        list.appendChild(option);
      });
      if (communes.length) {
        if (document.activeElement === input) {
          open();
        }
        announce(communes.length === 1
          ? "1 commune proposée. Flèche du bas pour la choisir, puis Entrée."
          : communes.length + " communes proposées. Flèches du haut et du bas pour les parcourir, puis Entrée pour choisir.");
      } else {
        close();
        // Enter still sends the text: the server also reads « Paris 15e », « Hérault », an address…
        announce("Aucune commune proposée. Entrée pour lancer la recherche avec ce texte.");
      }
    }

    function clear() {
      items = [];
      list.textContent = "";
      shownFor = null;
      close();
    }

    function suggest() {
      var query = input.value.trim();
      if (countLettersAndDigits(query) < MIN_CHARACTERS) {
        if (controller) {
          controller.abort();
        }
        clear();
        return;
      }
      if (query === shownFor) {
        open();
        return;
      }
      if (controller) {
        controller.abort();
      }
      controller = window.AbortController ? new AbortController() : null;
      var url = apiUrl + "?" + new URLSearchParams({ q: query, limit: String(LIMIT) }).toString();
      fetch(url, { headers: { Accept: "application/json" }, signal: controller ? controller.signal : undefined })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (communes) {
          shownFor = query;
          render(Array.isArray(communes) ? communes : []);
        })
        .catch(function (error) {
          if (!error || error.name !== "AbortError") {
            clear();  // The form still works: Enter sends it to the server.
          }
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(suggest, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      switch (event.key) {
        case "ArrowDown":
        case "Down":
          event.preventDefault();
          if (!isOpen()) {
            open();
            if (!items.length) {
              suggest();
            }
          }
          if (items.length) {
            setActive(active + 1 >= items.length ? 0 : active + 1);
          }
          break;
        case "ArrowUp":
        case "Up":
          if (isOpen() && items.length) {
            event.preventDefault();
            setActive(active <= 0 ? items.length - 1 : active - 1);
          }
          break;
        case "Enter":
          if (isOpen() && active >= 0) {
            event.preventDefault();
            choose(active);
          }
          // Otherwise the form is sent: the server lists the communes.
          break;
        case "Escape":
        case "Esc":
          if (isOpen()) {
            event.preventDefault();
            close();
          } else if (input.value) {
            event.preventDefault();
            input.value = "";
            clear();
          }
          break;
        case "Tab":
          close();
          break;
        default:
          break;
      }
    });

    input.addEventListener("blur", function () {
      close();
    });

    input.addEventListener("focus", function () {
      if (items.length && input.value.trim() === shownFor) {
        open();
      }
    });
  }

  function init() {
    var inputs = document.querySelectorAll("input[data-commune-autocomplete]");
    for (var i = 0; i < inputs.length; i += 1) {
      if (window.fetch && window.URLSearchParams) {
        setup(inputs[i]);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
