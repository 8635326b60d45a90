'use strict';

// The api service of the devd example stack. Its GET / response contains the
// text exported by message.js and facts about the serving process, so a test
// can tell both that an edit reached the container and that the process was
// restarted. Only the Node.js standard library is used, so the
// image needs nothing from a package registry.

const crypto = require('node:crypto');
const http = require('node:http');

const message = require('./message');
const pkg = require('./package.json');

const service = process.env.SERVICE_NAME || 'api';
const port = Number(process.env.PORT || 3000);

// Process ids repeat across container restarts (each container starts a new
// PID namespace), so every start also gets a random instance id.
const instance = crypto.randomUUID();
const startedAt = new Date().toISOString();

// How long a shutdown may wait for open connections before exiting anyway.
const shutdownGraceMs = 1000;

function sendJSON(req, res, status, body) {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
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
