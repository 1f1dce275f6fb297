// Keeps a job's page (bulk export, adequacy report) current while the job runs: fetches the same page every few
// seconds and copies in the #job-progress live region's text (announced politely, only when it changes) and every
// element marked data-refresh (summary, results with their download links). Stops when the job is no longer active
// or the session has ended. Without this script the page's "Refresh the status" link does the same.
(function () {
  'use strict';
  var region = document.getElementById('job-progress');
  if (!region || region.getAttribute('data-state') !== 'active' || !window.fetch || !window.DOMParser) return;
  var url = window.location.href.split('#')[0];
  var failures = 0;
  function apply(doc) {
    var next = doc.getElementById('job-progress');
    if (!next) return false; // not the job page any more (e.g. the session ended): stop
    var parts = document.querySelectorAll('[data-refresh]');
    for (var i = 0; i < parts.length; i++) {
      var id = parts[i].id;
      var src = id && doc.getElementById(id);
      if (src && src.innerHTML !== parts[i].innerHTML) parts[i].innerHTML = src.innerHTML;
    }
    if (next.textContent !== region.textContent) region.textContent = next.textContent;
    var state = next.getAttribute('data-state');
    region.setAttribute('data-state', state || 'done');
    return state === 'active';
  }
  function tick() {
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' }, redirect: 'follow' })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (text) {
        failures = 0;
        if (apply(new DOMParser().parseFromString(text, 'text/html'))) setTimeout(tick, 2000);
      })
      .catch(function () { if (++failures < 5) setTimeout(tick, 5000); });
  }
  setTimeout(tick, 2000);
})();
