// An export's progress: poll its status until the file is made, then show its download
// link. (A separate file: the CSP allows no inline scripts.)
(function () {
  var root = document.querySelector("[data-export-status]");
  if (!root || root.getAttribute("data-export-finished") === "true") return;
  var url = root.getAttribute("data-export-status");
  var bar = document.getElementById("export-progress");
  var words = document.getElementById("export-percent");
  var download = document.getElementById("export-download");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { setTimeout(poll, 5000); return; }
        bar.value = status.percent;
        bar.textContent = status.percent + "%";
        if (status.state === "failed") {
          words.textContent = status.note || "The export could not be made. Please export again.";
        } else if (status.download) {
          words.textContent = "Ready: " + status.rows + (status.rows === 1 ? " story." : " stories.");
        } else {
          words.textContent = status.percent + "%";
        }
        if (status.finished) {
          if (status.download) {
            download.querySelector("a").setAttribute("href", status.download);
            download.hidden = false;
          }
          return;
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 300);
})();
