// staff.js - live staff pages: a server-sent event stream (/events) says
// when anything changed; the pending list is then fetched again
// (/fragment/pending) and swapped in, so a new device appears without a
// reload. Also: confirmation for destructive buttons (data-confirm).
(function () {
  'use strict';
  document.addEventListener('submit', function (ev) {
    var b = ev.submitter || ev.target.querySelector('button[data-confirm]');
    var msg = b && b.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
  var badge = document.getElementById('pending-count');
  var pending = document.getElementById('pending');
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch('/fragment/pending', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var count = doc.querySelector('.count');
        var n = count ? count.getAttribute('data-count') : '';
        if (badge) badge.textContent = n && n !== '0' ? n : '';
        if (pending) {
          pending.replaceChildren.apply(pending, Array.prototype.slice.call(doc.body.childNodes));
        }
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  if (!window.EventSource || !badge) return;
  refresh();
  var es = new EventSource('/events');
  es.addEventListener('change', refresh);
})();
