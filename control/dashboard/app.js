// The dashboard's script: it renders GET /api/status, follows
// GET /api/events (Server-Sent Events) and sends the buttons' POST requests.
// Plain JavaScript with no build step and no third-party code, so the page
// works offline.
'use strict';

(() => {
  // The log keeps at most this many lines; older ones are removed.
  const maxLogLines = 2000;
  // Events come in bursts (a sync, then a restart): one status request
  // follows a burst, this many milliseconds after its first event.
  const refreshDelayMS = 150;
  // Container states can change without an event; the status is also read
  // at this interval.
  const pollIntervalMS = 5000;
  // The custom header that the dashboard requires on state-changing
  // requests, so that pages of other origins cannot send them.
  const requestHeader = 'X-Devd-Request';

  const cards = new Map();
  let refreshTimer = null;

  const $ = (selector, root = document) => root.querySelector(selector);

  async function callAPI(method, path) {
    const init = { method, cache: 'no-store', headers: {} };
    if (method !== 'GET') {
      init.headers[requestHeader] = '1';
    }
    const response = await fetch(path, init);
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      // The error below covers a body that is not JSON.
    }
    if (!response.ok) {
      throw new Error(body && body.error ? body.error : `${method} ${path} failed: HTTP ${response.status}`);
    }
    return body;
  }

  function showNotice(message) {
    $('#notice-text').textContent = message;
    $('#notice').hidden = false;
  }

  function setConnection(connected) {
    const badge = $('#connection');
    badge.textContent = connected ? 'live' : 'disconnected, retrying';
    badge.className = 'badge ' + (connected ? 'good' : 'bad');
  }

  function formatBytes(n) {
    if (n < 1024) {
      return `${n} B`;
    }
    let value = n / 1024;
    for (const unit of ['KB', 'MB', 'GB']) {
      if (value < 1024) {
        return `${value.toFixed(1)} ${unit}`;
      }
      value /= 1024;
    }
    return `${value.toFixed(1)} TB`;
  }

  function formatMS(ms) {
    if (ms < 1000) {
      return `${ms} ms`;
    }
    return `${(ms / 1000).toFixed(1)} s`;
  }

  function formatTime(iso) {
    const t = new Date(iso);
    if (Number.isNaN(t.getTime()) || t.getFullYear() < 2000) {
      return '';
    }
    return t.toLocaleTimeString([], { hour12: false });
  }

  function plural(n, noun) {
    return n === 1 ? `1 ${noun}` : `${n} ${noun}s`;
  }

  async function refresh() {
    try {
      render(await callAPI('GET', '/api/status'));
    } catch (err) {
      setConnection(false);
    }
  }

  function scheduleRefresh() {
    if (refreshTimer !== null) {
      return;
    }
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refresh();
    }, refreshDelayMS);
  }

  function render(status) {
    $('#project').textContent = status.project;
    document.title = `devd: ${status.project}`;
    const meta = [`pid ${status.pid}`];
    if (status.version) {
      meta.push(status.version);
    }
    if (formatTime(status.started)) {
      meta.push(`started ${formatTime(status.started)}`);
    }
    if (status.engine) {
      meta.push(status.engine);
    }
    $('#meta').textContent = meta.join(' · ');

    const names = new Set();
    for (const service of status.services) {
      names.add(service.name);
      renderService(service);
    }
    for (const [name, card] of cards) {
      if (!names.has(name)) {
        card.remove();
        cards.delete(name);
      }
    }
    updateServiceFilter([...names].sort());
  }

  function cardFor(name) {
    let card = cards.get(name);
    if (card) {
      return card;
    }
    card = $('#service-template').content.firstElementChild.cloneNode(true);
    card.dataset.service = name;
    $('.name', card).textContent = name;
    for (const button of card.querySelectorAll('button[data-action]')) {
      button.addEventListener('click', () => runAction(button, name, button.dataset.action));
    }
    cards.set(name, card);
    $('#services').appendChild(card);
    return card;
  }

  function renderService(service) {
    const card = cardFor(service.name);
    const containers = service.containers || [];

    const state = $('.state', card);
    const running = containers.filter((c) => c.state === 'running').length;
    if (containers.length === 0) {
      state.textContent = 'no container';
      state.className = 'state badge warn';
    } else if (running === containers.length) {
      state.textContent = 'running';
      state.className = 'state badge good';
    } else {
      state.textContent = containers.find((c) => c.state !== 'running').state || 'unknown';
      state.className = 'state badge bad';
    }
    $('.paused', card).hidden = !service.paused;
    $('button[data-action="pause"]', card).hidden = service.paused;
    $('button[data-action="resume"]', card).hidden = !service.paused;

    $('.containers', card).textContent = containers.length === 0
      ? 'none running'
      : containers.map((c) => `${c.name} (${c.state})`).join(', ');
    $('.restart-mode', card).textContent = (service.restart_mode || 'none') + (service.watched ? '' : ' · not watched');

    const sync = service.last_sync;
    $('.last-sync', card).textContent = sync
      ? `${plural(sync.files, 'file')} (${formatBytes(sync.bytes)}) in ${formatMS(sync.duration_ms)} at ${formatTime(sync.time)}`
      : 'none yet';

    const restart = service.last_restart;
    if (restart) {
      const parts = [restart.reason || 'restarted'];
      if (restart.ready_ms > 0) {
        parts.push(`ready in ${formatMS(restart.ready_ms)}`);
      }
      parts.push(`at ${formatTime(restart.time)}`);
      $('.last-restart', card).textContent = parts.join(' · ');
    } else {
      $('.last-restart', card).textContent = 'none yet';
    }
    $('.restart-count', card).textContent = String(service.restart_count);
    $('.pending', card).textContent = service.pending_paths > 0 ? plural(service.pending_paths, 'changed path') : 'nothing';

    renderDebug($('.debug', card), service.debug || []);

    const errors = $('.errors', card);
    errors.replaceChildren(...(service.errors || []).map((message) => {
      const item = document.createElement('li');
      item.textContent = message;
      return item;
    }));
  }

  function renderDebug(cell, endpoints) {
    if (endpoints.length === 0) {
      cell.textContent = 'no debug port';
      return;
    }
    cell.replaceChildren(...endpoints.map((d) => {
      const row = document.createElement('div');
      row.className = 'debug-endpoint';
      const address = document.createElement('code');
      address.textContent = d.address;
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.textContent = 'Copy';
      copy.dataset.copy = d.address;
      copy.addEventListener('click', () => copyText(d.address, copy));
      const info = document.createElement('span');
      info.className = d.connected ? '' : 'muted';
      const runtime = d.runtime ? `${d.runtime}, ` : '';
      info.textContent = `${runtime}port ${d.port}, ` + (d.connected ? `debugger connected (${d.connections})` : 'no debugger');
      row.append(address, copy, info);
      return row;
    }));
  }

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      // The Clipboard API needs focus and permission; fall back to a
      // selection and the older copy command.
      const area = document.createElement('textarea');
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  }

  async function runAction(button, service, action) {
    let path;
    switch (action) {
      case 'restart':
      case 'sync':
        path = `/api/services/${encodeURIComponent(service)}/${action}`;
        break;
      case 'pause':
      case 'resume':
        path = `/api/${action}` + (service ? `?service=${encodeURIComponent(service)}` : '');
        break;
      default:
        return;
    }
    button.disabled = true;
    try {
      render(await callAPI('POST', path));
    } catch (err) {
      showNotice(err.message);
    } finally {
      button.disabled = false;
    }
  }

  function updateServiceFilter(names) {
    const select = $('#log-service');
    const current = [...select.options].slice(1).map((o) => o.value);
    if (current.join('\n') === names.join('\n')) {
      return;
    }
    const selected = select.value;
    select.replaceChildren(select.options[0], ...names.map((name) => {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      return option;
    }));
    select.value = names.includes(selected) ? selected : '';
  }

  function logVisible(item) {
    const service = $('#log-service').value;
    if (item.dataset.type === 'output' && !$('#log-output').checked) {
      return false;
    }
    return service === '' || item.dataset.service === '' || item.dataset.service === service;
  }

  function applyLogFilter() {
    for (const item of $('#log').children) {
      item.hidden = !logVisible(item);
    }
    scrollLog();
  }

  function scrollLog() {
    if ($('#log-follow').checked) {
      const log = $('#log');
      log.scrollTop = log.scrollHeight;
    }
  }

  // showProgress keeps one log line per running reconciliation, updated in
  // place, and removes it when the reconciliation ends.
  function showProgress(e) {
    const key = (e.service || '') + '/' + (e.container || '');
    const current = [...$('#log').children].find((item) => item.dataset.progress === key);
    if (e.phase === 'done') {
      if (current) {
        current.remove();
      }
      return;
    }
    if (current) {
      current.querySelector('.time').textContent = formatTime(e.time);
      current.querySelector('.text').textContent = e.line;
      return;
    }
    appendLog(e).dataset.progress = key;
  }

  function appendLog(e) {
    const item = document.createElement('li');
    item.dataset.type = e.type;
    item.dataset.service = e.service || '';
    if (e.type === 'output') {
      item.className = 'output';
    } else if (e.error) {
      item.className = 'error';
    } else if (e.type === 'restart_ready' || e.type === 'engine_back') {
      item.className = 'good';
    }
    const time = document.createElement('span');
    time.className = 'time';
    time.textContent = formatTime(e.time);
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = e.line;
    item.append(time, text);
    item.hidden = !logVisible(item);

    const log = $('#log');
    log.appendChild(item);
    while (log.children.length > maxLogLines) {
      log.firstElementChild.remove();
    }
    scrollLog();
    return item;
  }

  function followEvents() {
    const source = new EventSource('/api/events?history=1&output=1');
    source.addEventListener('open', () => {
      setConnection(true);
      // Every connection starts with the history again.
      $('#log').replaceChildren();
      scheduleRefresh();
    });
    source.addEventListener('error', () => setConnection(false));
    source.addEventListener('message', (message) => {
      const e = JSON.parse(message.data);
      if (e.type === 'sync_progress') {
        showProgress(e);
        return;
      }
      appendLog(e);
      if (e.type !== 'output') {
        scheduleRefresh();
      }
    });
  }

  function start() {
    $('#notice-close').addEventListener('click', () => { $('#notice').hidden = true; });
    $('#log-service').addEventListener('change', applyLogFilter);
    $('#log-output').addEventListener('change', applyLogFilter);
    $('#log-follow').addEventListener('change', scrollLog);
    $('#log-clear').addEventListener('click', () => $('#log').replaceChildren());
    $('#pause-all').addEventListener('click', (e) => runAction(e.currentTarget, '', 'pause'));
    $('#resume-all').addEventListener('click', (e) => runAction(e.currentTarget, '', 'resume'));

    refresh();
    followEvents();
    setInterval(refresh, pollIntervalMS);
  }

  start();
})();
