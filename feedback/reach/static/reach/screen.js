// A waiting-room screen moves on to the next story by itself: the page is loaded again after
// the number of seconds on <body data-refresh>. A script, not <meta http-equiv="refresh">,
// which assistive technology treats as a page snatched away from its reader (axe's
// meta-refresh rule); nobody operates this screen, and every story on it carries a QR code
// to read it at one's own pace.
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-refresh"), 10);
  if (seconds > 0) {
    window.setTimeout(function () {
      window.location.reload();
    }, seconds * 1000);
  }
})();
