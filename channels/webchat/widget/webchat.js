/* lidorub website chat widget (no framework, no dependencies).
 * <script src="https://GATEWAY/webchat/webchat.js" data-lang="ru" data-position="right" data-color="#1f6feb" async></script>
 * Every text from the visitor or the manager is rendered with textContent: never as HTML. */
(function () {
  'use strict';
  var S = document.currentScript;
  if (!S || window.lidorubChat) return;
  var base = S.src.replace(/\/webchat\.js([?#].*)?$/, '');
  var api = base + '/v1/';
  var ds = S.dataset || {};
  var KEY = 'lidorub.webchat:' + base;
  var color = /^#[0-9a-fA-F]{3,8}$/.test(ds.color || '') ? ds.color : '#1f6feb';
  var left = ds.position === 'left';
  var T = {}, cfg = {}, st = load(), lang = 'en';
  var seen = {}, pending = {}, lastId = '', es = null, polling = false, failures = 0, unread = 0, timer = 0;
  var root, btn, badge, panel, log, statusEl, form, ta, consentRow, consentBox, cbForm, cbToggle;
  window.lidorubChat = { open: function () { if (panel) toggle(true); } };

  function load() { try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; } }
  function save() { try { localStorage.setItem(KEY, JSON.stringify(st)); } catch (e) { /* private mode: this page only */ } }
  function t(k) { return T[k] || k; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (attrs[k] != null) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function add(p) { for (var i = 1; i < arguments.length; i++) p.appendChild(arguments[i]); return p; }
  function req(method, path, body, auth) {
    var h = {};
    if (body) h['Content-Type'] = 'application/json';
    if (auth && st.token) h.Authorization = 'Bearer ' + st.token;
    return fetch(api + path, { method: method, headers: h, body: body ? JSON.stringify(body) : undefined, credentials: 'omit' })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) { return { s: r.status, j: j }; });
      });
  }
  function cid() { return 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }
  function say(k) { statusEl.textContent = k ? t(k) : ''; }

  req('GET', 'config?lang=' + encodeURIComponent(ds.lang || navigator.language || ''), null, false).then(function (r) {
    if (r.s !== 200) return;
    cfg = r.j; T = cfg.texts || {}; lang = cfg.lang;
    build();
    if (st.token) session().then(connect, function () {});
  }, function () {});

  function build() {
    var css = '.lrbc,.lrbc *{box-sizing:border-box;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}' +
      '.lrbc{position:fixed;bottom:20px;' + (left ? 'left' : 'right') + ':20px;z-index:2147483000;color:#1b1f24}' +
      '.lrbc-btn{width:56px;height:56px;border-radius:50%;border:0;background:' + color + ';color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);position:relative;display:flex;align-items:center;justify-content:center}' +
      '.lrbc-badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#d1242f;color:#fff;font-size:12px;line-height:20px;padding:0 5px}' +
      '.lrbc-panel{position:absolute;bottom:70px;' + (left ? 'left' : 'right') + ':0;width:360px;max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 100px);background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}' +
      '.lrbc-panel[hidden],.lrbc [hidden]{display:none!important}' +
      '.lrbc-head{display:flex;align-items:center;justify-content:space-between;padding:12px 14px;background:' + color + ';color:#fff}' +
      '.lrbc-head h2{margin:0;font-size:16px;font-weight:600;color:#fff}' +
      '.lrbc-x{background:none;border:0;color:#fff;font-size:24px;line-height:1;cursor:pointer;padding:0 4px}' +
      '.lrbc-log{flex:1;overflow-y:auto;padding:12px;background:#f6f8fa;display:flex;flex-direction:column;gap:8px}' +
      '.lrbc-m{max-width:85%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word;background:#fff;border:1px solid #d0d7de;align-self:flex-start}' +
      '.lrbc-in{align-self:flex-end;background:' + color + ';color:#fff;border-color:transparent}' +
      '.lrbc-m small{display:block;font-size:11px;opacity:.75;margin-top:2px}' +
      '.lrbc-m a{color:inherit}.lrbc-failed{cursor:pointer;outline:2px solid #d1242f}' +
      '.lrbc-hello{color:#57606a;margin:0}' +
      '.lrbc-status{margin:0;padding:0 12px;font-size:13px;color:#9a6700;min-height:0}' +
      '.lrbc-form{display:flex;gap:8px;padding:10px;border-top:1px solid #d0d7de}' +
      '.lrbc-form textarea{flex:1;resize:none;border:1px solid #8c959f;border-radius:8px;padding:8px;font-size:16px;min-height:42px;max-height:120px}' +
      '.lrbc-send,.lrbc-cb button{border:0;border-radius:8px;background:' + color + ';color:#fff;padding:0 14px;cursor:pointer;font-weight:600}' +
      '.lrbc-consent{display:flex;gap:6px;align-items:flex-start;padding:6px 12px 0;font-size:13px}' +
      '.lrbc-consent a{color:' + color + '}' +
      '.lrbc-link{background:none;border:0;color:' + color + ';text-decoration:underline;cursor:pointer;font-size:13px;padding:0 12px 10px;text-align:left}' +
      '.lrbc-cb{display:grid;gap:6px;padding:10px 12px;border-top:1px solid #d0d7de}' +
      '.lrbc-cb input{border:1px solid #8c959f;border-radius:6px;padding:6px 8px;font-size:16px;width:100%}' +
      '.lrbc-cb button{padding:8px 14px}' +
      '.lrbc :focus-visible{outline:3px solid #0969da;outline-offset:2px}' +
      '.lrbc-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}' +
      '@media (max-width:480px){.lrbc-panel{position:fixed;inset:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0}.lrbc-open .lrbc-btn{display:none}}';
    root = el('div', { 'class': 'lrbc', lang: lang });
    add(root, el('style', null, css));
    btn = el('button', { type: 'button', 'class': 'lrbc-btn', 'aria-label': t('open'), 'aria-expanded': 'false', 'aria-controls': 'lrbc-panel' });
    var svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg'), path = document.createElementNS(svg.namespaceURI, 'path');
    svg.setAttribute('viewBox', '0 0 24 24'); svg.setAttribute('width', '28'); svg.setAttribute('height', '28'); svg.setAttribute('aria-hidden', 'true');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z');
    add(btn, add(svg, path));
    badge = el('span', { 'class': 'lrbc-badge', hidden: '' });
    add(btn, badge);
    panel = el('section', { id: 'lrbc-panel', 'class': 'lrbc-panel', role: 'dialog', 'aria-labelledby': 'lrbc-title', hidden: '' });
    var x = el('button', { type: 'button', 'class': 'lrbc-x', 'aria-label': t('close') }, '\u00D7');
    add(panel, add(el('div', { 'class': 'lrbc-head' }), el('h2', { id: 'lrbc-title' }, t('title')), x));
    log = el('div', { 'class': 'lrbc-log', role: 'log', 'aria-live': 'polite', 'aria-label': t('title'), tabindex: '0' });
    add(log, el('p', { 'class': 'lrbc-hello' }, t('greeting')));
    statusEl = el('p', { 'class': 'lrbc-status', role: 'status', 'aria-live': 'polite' });
    consentRow = el('div', { 'class': 'lrbc-consent' });
    consentBox = el('input', { type: 'checkbox', id: 'lrbc-consent' });
    add(consentRow, consentBox, el('label', { 'for': 'lrbc-consent' }, t('consent')));
    if (cfg.policy_url && /^https?:\/\//.test(cfg.policy_url)) {
      add(consentRow, el('a', { href: cfg.policy_url, target: '_blank', rel: 'noopener noreferrer' }, t('policy')));
    }
    consentRow.hidden = !cfg.require_consent || !!st.consent;
    form = el('form', { 'class': 'lrbc-form' });
    ta = el('textarea', { id: 'lrbc-text', rows: '1', maxlength: String(cfg.max_chars || 2000), placeholder: t('placeholder') });
    add(form, el('label', { 'for': 'lrbc-text', 'class': 'lrbc-sr' }, t('message')), ta,
      el('button', { type: 'submit', 'class': 'lrbc-send' }, t('send')));
    cbToggle = el('button', { type: 'button', 'class': 'lrbc-link', 'aria-expanded': 'false', 'aria-controls': 'lrbc-cb' }, t('callback'));
    cbForm = el('form', { id: 'lrbc-cb', 'class': 'lrbc-cb', hidden: '' });
    [['name', 'text', 'name'], ['phone', 'tel', 'tel'], ['email', 'email', 'email']].forEach(function (f) {
      add(cbForm, el('label', { 'for': 'lrbc-' + f[0] }, t(f[0])), el('input', { id: 'lrbc-' + f[0], name: f[0], type: f[1], autocomplete: f[2] }));
    });
    add(cbForm, el('button', { type: 'submit' }, t('callback_send')));
    add(panel, log, statusEl, cbForm, consentRow, form, cbToggle);
    add(root, panel, btn);
    document.body.appendChild(root);

    btn.addEventListener('click', function () { toggle(panel.hidden); });
    x.addEventListener('click', function () { toggle(false); });
    root.addEventListener('keydown', function (e) { if (e.key === 'Escape' && !panel.hidden) toggle(false); });
    ta.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    });
    form.addEventListener('submit', function (e) { e.preventDefault(); submit(); });
    cbToggle.addEventListener('click', function () {
      cbForm.hidden = !cbForm.hidden;
      cbToggle.setAttribute('aria-expanded', String(!cbForm.hidden));
      if (!cbForm.hidden) cbForm.elements.name.focus();
    });
    cbForm.addEventListener('submit', function (e) {
      e.preventDefault();
      var v = function (n) { return cbForm.elements[n].value.trim(); };
      if (!v('phone') && !v('email')) { say('callback_invalid'); return; }
      message({ name: v('name'), phone: v('phone'), email: v('email'), text: '' }, function () {
        cbForm.reset(); cbForm.hidden = true; cbToggle.setAttribute('aria-expanded', 'false'); say('callback_thanks');
      });
    });
  }

  function toggle(open) {
    panel.hidden = !open;
    root.classList.toggle('lrbc-open', open); // on a phone the open chat hides the launcher
    btn.setAttribute('aria-expanded', String(open));
    btn.setAttribute('aria-label', t(open ? 'close' : 'open'));
    if (open) {
      unread = 0; badge.hidden = true; ta.focus(); log.scrollTop = log.scrollHeight;
    } else btn.focus();
  }

  function consentOK() {
    if (!cfg.require_consent || st.consent || consentBox.checked) return true;
    say('consent_needed'); consentBox.focus();
    return false; // nothing leaves the page without consent
  }

  function submit() {
    var text = ta.value.trim();
    if (!text) return;
    message({ text: text }, function () {});
    ta.value = '';
  }

  // message sends one visitor message (shown at once, confirmed by the server's echo).
  function message(body, ok) {
    if (!consentOK()) return;
    body.id = cid(); body.consent = !!(st.consent || consentBox.checked); body.page_url = location.href;
    var m = body.text ? render({ dir: 'in', text: body.text, at: Date.now() }, t('sending')) : null;
    if (m) pending[body.id] = m;
    var go = function (retried) {
      session().then(function () { return req('POST', 'messages', body, true); }).then(function (r) {
        if (r.s === 202) {
          if (body.consent && !st.consent) { st.consent = true; save(); consentRow.hidden = true; }
          if (m) stamp(m, body.id);
          say(''); ok(); connect();
        } else if (r.s === 401 && !retried) {
          st.token = null; save(); go(true); // a new session, same client id
        } else fail(m, r.s === 429 ? 'rate_limited' : r.s === 413 ? 'too_long' : r.j.code === 'no_consent' ? 'consent_needed' :
          r.j.field === 'phone' || r.j.field === 'email' ? 'callback_invalid' : 'not_sent', function () { go(false); });
      }, function () { fail(m, 'not_sent', function () { go(false); }); });
    };
    go(false);
  }

  function fail(m, k, retry) {
    say(k);
    if (!m) return;
    m.classList.add('lrbc-failed');
    m.lastChild.textContent = t('not_sent');
    m.setAttribute('tabindex', '0');
    m.setAttribute('role', 'button');
    var again = function (e) {
      if (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ') return;
      m.removeEventListener('click', again); m.removeEventListener('keydown', again);
      m.classList.remove('lrbc-failed'); m.removeAttribute('role'); m.removeAttribute('tabindex');
      m.lastChild.textContent = t('sending'); retry();
    };
    m.addEventListener('click', again); m.addEventListener('keydown', again);
  }

  function time(at) {
    try { return new Date(at).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' }); } catch (e) { return ''; }
  }

  function stamp(m, id) { m.lastChild.textContent = time(m.at); m.setAttribute('data-cid', id); }

  function render(ev, note) {
    var m = el('div', { 'class': 'lrbc-m lrbc-' + (ev.dir === 'in' ? 'in' : 'out') });
    m.at = ev.at;
    add(m, el('span', { 'class': 'lrbc-sr' }, t(ev.dir === 'in' ? 'you' : 'manager') + ': '), document.createTextNode(ev.text || ''));
    (ev.attachments || []).forEach(function (a) {
      var label = '[' + (a.name || a.kind) + ']';
      add(m, document.createTextNode(' '), a.url && /^https:\/\//.test(a.url) ?
        el('a', { href: a.url, target: '_blank', rel: 'noopener noreferrer' }, label) : el('span', null, label));
    });
    add(m, el('small', null, note || time(ev.at)));
    log.appendChild(m);
    log.scrollTop = log.scrollHeight;
    return m;
  }

  function onEvent(ev) {
    if (!ev || !ev.id || seen[ev.id]) return;
    seen[ev.id] = 1; lastId = ev.id; failures = 0; say('');
    if (ev.dir === 'in' && ev.cid) {
      var p = pending[ev.cid] || log.querySelector('[data-cid="' + ev.cid + '"]');
      if (p) { delete pending[ev.cid]; stamp(p, ev.cid); return; }
    }
    render(ev);
    if (ev.dir === 'out' && panel.hidden) { unread++; badge.textContent = String(unread); badge.hidden = false; badge.setAttribute('aria-label', t('new_message')); }
  }

  // session makes sure there is a valid token: a stored one is renewed once per page, a
  // forged or expired one is replaced by a new session.
  var renewed = false;
  function session() {
    if (st.token && renewed) return Promise.resolve();
    return req('POST', 'session', st.token ? { token: st.token } : {}, false).then(function (r) {
      if (r.s === 200) { st.token = r.j.token; renewed = true; save(); return; }
      if (r.s === 401) { st = {}; save(); consentRow.hidden = !cfg.require_consent; return session(); }
      throw new Error('session ' + r.s);
    });
  }

  function retryLater() {
    say('reconnecting');
    clearTimeout(timer);
    timer = setTimeout(function () { renewed = false; session().then(connect, retryLater); }, Math.min(30000, 1000 * Math.pow(2, failures)));
  }

  // connect opens the event stream: SSE (the browser resumes with Last-Event-ID by itself),
  // or long polling when SSE is unavailable or keeps failing.
  function connect() {
    if (!st.token || es || polling) return;
    if (window.EventSource && failures < 3) {
      es = new EventSource(api + 'events?token=' + encodeURIComponent(st.token) + (lastId ? '&after=' + lastId : ''));
      es.onmessage = function (m) { try { onEvent(JSON.parse(m.data)); } catch (e) { /* not ours */ } };
      es.onerror = function () {
        if (es.readyState === 2) { es.close(); es = null; failures++; retryLater(); } else say('reconnecting');
      };
      es.onopen = function () { say(''); };
      return;
    }
    polling = true;
    req('GET', 'poll?wait=25&after=' + lastId, null, true).then(function (r) {
      polling = false;
      if (r.s !== 200) throw new Error('poll ' + r.s);
      (r.j.events || []).forEach(onEvent);
      connect();
    }).catch(function () { polling = false; failures++; retryLater(); });
  }
})();
