// staff.js - live staff pages: a server-sent event stream (/events) says
// when anything changed; the pending list is then fetched again
// (/fragment/pending) and swapped in, so a new device appears without a
// reload; likewise the alerts list (/fragment/alerts) and the open-alert
// badge in the navigation (/fragment/alert-count, on every page). Also:
// confirmation for destructive buttons (data-confirm).
(function () {
  'use strict';
  document.addEventListener('submit', function (ev) {
    var b = ev.submitter || ev.target.querySelector('button[data-confirm]');
    var msg = b && b.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
  var badge = document.getElementById('pending-count');
  var alertBadge = document.getElementById('alert-count');
  var pending = document.getElementById('pending');
  var alerts = document.getElementById('alerts');
  var busy = false, again = false;
  function get(url) {
    return fetch(url, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); });
  }
  function swap(el, html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    el.replaceChildren.apply(el, Array.prototype.slice.call(doc.body.childNodes));
    return doc;
  }
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    var jobs = [
      get('/fragment/pending').then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var count = doc.querySelector('.count');
        var n = count ? count.getAttribute('data-count') : '';
        if (badge) badge.textContent = n && n !== '0' ? n : '';
        if (pending) swap(pending, html);
      }).catch(function () {}),
      get('/fragment/alert-count').then(function (t) {
        var n = t.trim();
        if (alertBadge) alertBadge.textContent = /^[0-9]+$/.test(n) && n !== '0' ? n : '';
      }).catch(function () {})
    ];
    if (alerts) jobs.push(get('/fragment/alerts').then(function (html) { swap(alerts, html); }).catch(function () {}));
    Promise.all(jobs).then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  if (!window.EventSource || !badge) return;
  refresh();
  var es = new EventSource('/events');
  es.addEventListener('change', refresh);
})();
