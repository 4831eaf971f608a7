// A long report's progress: poll the status endpoint until the PDF is made, then show its
// download link. (A separate file: the CSP allows no inline scripts.)
(function () {
  var root = document.querySelector("[data-report-status]");
  if (!root || root.getAttribute("data-report-ready") === "true") return;
  var url = root.getAttribute("data-report-status");
  var bar = document.getElementById("report-progress");
  var percent = document.getElementById("report-percent");
  var download = document.getElementById("report-download");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { setTimeout(poll, 5000); return; }
        bar.value = status.percent;
        bar.textContent = status.percent + "%";
        percent.textContent = status.state === "failed" ? "The report could not be made." : status.percent + "%";
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
  setTimeout(poll, 500);
})();
