// Kiosk: go back to an empty form after a spell without input, so the next person never
// sees what the last one typed.
(function () {
  var root = document.querySelector("[data-kiosk-start]");
  if (!root) return;
  var start = root.getAttribute("data-kiosk-start");
  var idle = parseInt(root.getAttribute("data-kiosk-idle-seconds"), 10) * 1000;
  var timer;
  function reset() { window.location.replace(start); }
  function wait() { clearTimeout(timer); timer = setTimeout(reset, idle); }
  ["input", "keydown", "pointerdown", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, wait, { passive: true });
  });
  wait();
})();
