// captive.js - the captive page follows its device's state: it asks
// /status every 3 s and reloads the page when the state changes (approved,
// guest, blocked), so the user sees the decision without touching anything.
(function () {
  'use strict';
  var el = document.getElementById('state');
  if (!el || !window.fetch) return;
  var shown = el.getAttribute('data-state') + '/' + el.getAttribute('data-class');
  var guestShown = !!document.getElementById('guest-info');
  function check() {
    fetch('/status', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        var now = s.state + '/' + (s['class'] || '');
        if (now !== shown || s.guest !== guestShown) location.reload();
      })
      .catch(function () { /* the network may be moving: try again */ });
  }
  setInterval(check, 3000);
})();
