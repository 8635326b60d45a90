'use strict';

// The notification service of the devd example stack. Its source is copied
// into the image and kept up to date by syncing (Compose's develop.watch, or
// devd), not by a bind mount. The GET / response contains the text exported
// by message.js and facts about the serving process. GET /files lists the
// source tree inside the container, so a test can compare it with the host
// folder. Only the Node.js standard library is used.

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const message = require('./message');
const pkg = require('./package.json');

const service = process.env.SERVICE_NAME || 'notification';
const port = Number(process.env.PORT || 4000);
const root = __dirname;

// Process ids repeat across container restarts (each container starts a new
// PID namespace), so every start also gets a random instance id.
const instance = crypto.randomUUID();
const startedAt = new Date().toISOString();

// How long a shutdown may wait for open connections before exiting anyway.
const shutdownGraceMs = 1000;

// Files larger than this are listed without a checksum.
const maxHashedBytes = 1 << 20;

// Folders that are never synced, so never listed.
const skippedDirs = new Set(['node_modules']);

function sendJSON(req, res, status, body) {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}

// entryType names the kind of file that st describes.
function entryType(st) {
  if (st.isDirectory()) {
    return 'dir';
  }
  if (st.isSymbolicLink()) {
    return 'symlink';
  }
  if (st.isFile()) {
    return 'file';
  }
  return 'other';
}

// describe returns the /files entry of the file at abs, or null when the file
// was removed while the tree was walked.
function describe(abs, rel) {
  let st;
  try {
    st = fs.lstatSync(abs);
  } catch {
    return null;
  }
  const entry = {
    path: rel,
    type: entryType(st),
    mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
    uid: st.uid,
    gid: st.gid,
  };
  try {
    if (entry.type === 'file') {
      entry.size = st.size;
      if (st.size <= maxHashedBytes) {
        entry.sha256 = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
      }
    } else if (entry.type === 'symlink') {
      entry.target = fs.readlinkSync(abs);
    }
  } catch {
    return null;
  }
  return entry;
}

// listFiles walks the source tree without following symbolic links and
// returns one entry per file, folder and link, sorted by path (relative, with
// forward slashes). Files removed during the walk are left out.
function listFiles() {
  const entries = [];
  const walk = (dir) => {
    let names;
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const abs = path.join(dir, name);
      const rel = path.relative(root, abs).split(path.sep).join('/');
      const entry = describe(abs, rel);
      if (entry === null || (entry.type === 'dir' && skippedDirs.has(name))) {
        continue;
      }
      entries.push(entry);
      if (entry.type === 'dir') {
        walk(abs);
      }
    }
  };
  walk(root);
  return entries.sort((a, b) => {
    if (a.path === b.path) {
      return 0;
    }
    return a.path < b.path ? -1 : 1;
  });
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJSON(req, res, 405, { error: 'method not allowed' });
    return;
  }
  const { pathname } = new URL(req.url, 'http://localhost');
  switch (pathname) {
    case '/':
      sendJSON(req, res, 200, {
        service,
        message,
        version: pkg.version,
        node: process.version,
        pid: process.pid,
        instance,
        startedAt,
      });
      return;
    case '/files':
      try {
        sendJSON(req, res, 200, { root, files: listFiles() });
      } catch (err) {
        sendJSON(req, res, 500, { error: `listing ${root}: ${err.message}` });
      }
      return;
    case '/healthz':
      sendJSON(req, res, 200, { status: 'ok' });
      return;
    default:
      sendJSON(req, res, 404, { error: 'not found', path: pathname });
  }
});

function shutdown(signal) {
  console.log(`${service}: ${signal} received, closing the server`);
  server.close(() => process.exit(0));
  // Keep-alive connections would hold close() open until they time out.
  server.closeAllConnections();
  setTimeout(() => process.exit(0), shutdownGraceMs).unref();
}

process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

server.listen(port, () => {
  console.log(`${service}: listening on port ${port} (pid ${process.pid}, instance ${instance})`);
});
