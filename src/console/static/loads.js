// Progressive enhancement of the Loads form (the form works without it: a multipart POST answered by a page with the
// summary). With it: drag and drop onto the drop area, the file sent as the request body with the session's CSRF
// token in X-CSRF-Token, upload progress (XMLHttpRequest: fetch cannot report upload progress over HTTP/1.1), then
// the server's streamed progress lines (application/x-ndjson) and its summary, announced in a polite live region.
(function () {
  'use strict';
  var form = document.getElementById('load-form');
  var input = document.getElementById('load-file');
  var drop = document.getElementById('load-drop');
  var status = document.getElementById('load-status');
  var bar = document.getElementById('load-bar');
  var result = document.getElementById('load-result');
  if (!form || !input || !drop || !status || !bar || !result || !window.XMLHttpRequest) return;
  var csrf = form.getAttribute('data-csrf') || '';
  var limit = Number(form.getAttribute('data-limit') || '0');
  var button = form.querySelector('button[type="submit"]');
  var lastAnnounced = 0;

  function size(n) {
    if (n < 1024) return n + ' bytes';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KB';
    return (n / 1048576).toFixed(1) + ' MB';
  }
  // the live region is updated on each change of phase, and at most every 2 s while one phase reports progress
  function say(text, force) {
    var now = Date.now();
    if (force || now - lastAnnounced > 2000) { status.textContent = text; lastAnnounced = now; }
  }
  function progress(value) {
    bar.hidden = false;
    if (value === null) bar.removeAttribute('value'); else bar.value = value;
  }
  function done() {
    bar.hidden = true;
    if (button) button.disabled = false;
  }

  drop.classList.add('enhanced');
  ['dragenter', 'dragover'].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add('dragging'); });
  });
  ['dragleave', 'drop'].forEach(function (t) {
    drop.addEventListener(t, function () { drop.classList.remove('dragging'); });
  });
  drop.addEventListener('drop', function (e) {
    e.preventDefault();
    var files = e.dataTransfer && e.dataTransfer.files;
    if (!files || !files.length) return;
    input.files = files;
    say('Selected ' + files[0].name + ' (' + size(files[0].size) + '). Press Upload and load to start.', true);
  });
  input.addEventListener('change', function () {
    if (input.files && input.files[0]) say('Selected ' + input.files[0].name + ' (' + size(input.files[0].size) + ').', true);
  });

  form.addEventListener('submit', function (e) {
    var file = input.files && input.files[0];
    if (!file) return; // the browser's own required-field message
    e.preventDefault();
    result.textContent = '';
    if (limit && file.size > limit) {
      say('The file is ' + size(file.size) + ', larger than the upload limit of ' + size(limit) + '. Split it, or load it with npm run load.', true);
      return;
    }
    if (button) button.disabled = true;
    var type = /\.(ndjson|jsonl)$/i.test(file.name) ? 'application/x-ndjson' : 'application/fhir+json';
    var xhr = new XMLHttpRequest();
    var seen = 0;
    var finished = false;
    xhr.open('POST', form.getAttribute('action') + '?name=' + encodeURIComponent(file.name));
    xhr.setRequestHeader('Content-Type', type);
    xhr.setRequestHeader('Accept', 'application/x-ndjson');
    xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.upload.onprogress = function (ev) {
      if (!ev.lengthComputable) return;
      progress(Math.round((ev.loaded / ev.total) * 100));
      say('Uploading ' + file.name + ': ' + Math.round((ev.loaded / ev.total) * 100) + ' % of ' + size(ev.total) + '.', false);
    };
    xhr.upload.onload = function () { progress(null); say('Uploaded ' + file.name + '. Validating and loading…', true); };
    function handle(line) {
      var m;
      try { m = JSON.parse(line); } catch (err) { return; }
      if (m.type === 'received') { progress(null); say('Received ' + m.name + ' (' + size(m.bytes) + '). Validating and loading…', true); }
      else if (m.type === 'progress') say('Loading: ' + m.processed + ' records read, ' + m.loaded + ' loaded, ' + m.rejected + ' rejected.', false);
      else if (m.type === 'summary') {
        finished = true;
        result.innerHTML = m.html; // markup rendered and escaped by the server (same origin)
        say('Finished: ' + m.loaded + ' loaded, ' + m.rejected + ' rejected.', true);
        var h = document.getElementById('load-summary-heading');
        if (h) h.focus();
      } else if (m.type === 'error') {
        finished = true;
        say('The upload was refused: ' + m.message, true);
      }
    }
    function drain(all) {
      var text = xhr.responseText || '';
      var end = all ? text.length : text.lastIndexOf('\n') + 1;
      if (end <= seen) return;
      text.slice(seen, end).split('\n').forEach(function (l) { if (l.trim()) handle(l); });
      seen = end;
    }
    xhr.onprogress = function () { drain(false); };
    xhr.onload = function () {
      drain(true);
      done();
      if (!finished) say('The upload failed (' + xhr.status + ' ' + xhr.statusText + '). Reload the page and try again; your session may have ended.', true);
    };
    xhr.onerror = function () { done(); say('The upload failed: the connection to the server was lost.', true); };
    progress(0);
    say('Uploading ' + file.name + ' (' + size(file.size) + ')…', true);
    xhr.send(file);
  });
})();
