// The service import's progress bar: poll the status endpoint until the import finishes,
// then reload the page, which shows the result. (A separate file: the CSP allows no inline
// scripts.)
(function () {
  var root = document.querySelector("[data-import-status]");
  if (!root || root.getAttribute("data-import-finished") === "true") return;
  var url = root.getAttribute("data-import-status");
  var bar = document.getElementById("import-progress");
  var count = document.getElementById("import-count");
  var state = document.getElementById("import-state");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { setTimeout(poll, 5000); return; }
        if (status.finished) { window.location.replace(root.getAttribute("data-import-page")); return; }
        bar.max = status.total;
        bar.value = status.done;
        bar.textContent = status.done + " of " + status.total;
        count.textContent = status.done + " of " + status.total + " services (" + status.percent + "%)";
        state.textContent = status.label;
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 500);
})();
