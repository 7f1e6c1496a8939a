// videohooks console: the one script, served by the receiver. It only refreshes the events table;
// every page works without it.
"use strict";
(function () {
  var table = document.querySelector("table[data-live-src]");
  if (!table) {
    return;
  }
  var live = document.getElementById("live");
  live.parentElement.hidden = false;
  var body = table.querySelector("tbody");
  window.setInterval(function () {
    if (!live.checked || document.hidden) {
      return;
    }
    fetch(table.getAttribute("data-live-src"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (rows) {
        // Rendered and escaped by the server, like the rest of the page.
        body.innerHTML = rows;
      })
      .catch(function () {
        live.checked = false;
      });
  }, 3000);
})();
