// lidorub console: refreshes the live part of a page (an element with id "live" and a
// data-src JSON endpoint answering {"html", "at"}) every few seconds. Served from the
// gateway itself, as the Content-Security-Policy (default-src 'self') requires.
(function () {
  'use strict';
  var el = document.getElementById('live');
  if (!el || !window.fetch) return;
  var src = el.getAttribute('data-src');
  var every = 5000;
  function busy() {
    var a = document.activeElement;
    return a && a !== document.body && el.contains(a);
  }
  function tick() {
    fetch(src, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (j) {
        if (!j || typeof j.html !== 'string' || busy()) return;
        el.innerHTML = j.html;
        var at = document.getElementById('updated');
        if (at && j.at) at.textContent = j.at;
      })
      .catch(function () {})
      .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
