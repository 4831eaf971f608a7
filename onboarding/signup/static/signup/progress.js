// The sign-up progress page: ask how provisioning is going every second and a half, and
// show the way into the workspace when it is ready. No inline script (the CSP forbids it).
(function () {
  "use strict";
  var box = document.getElementById("signup-progress");
  if (!box) { return; }
  var bar = document.getElementById("signup-bar");
  var note = document.getElementById("signup-note");
  var ready = document.getElementById("signup-ready");
  var link = document.getElementById("signup-workspace");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        bar.value = status.progress;
        bar.textContent = status.progress + "%";
        note.textContent = status.step === "payment"
          ? "Waiting for your payment to be confirmed…"
          : (status.note || status.label);
        if (status.step === "ready" && status.workspace) {
          link.href = status.workspace;
          ready.hidden = false;
          return;
        }
        if (status.step === "failed") { window.location.reload(); return; }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
}());
