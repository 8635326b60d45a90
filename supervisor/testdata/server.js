// A test server. It listens on PORT after START_DELAY_MS and responds to
// every request with its pid. On SIGTERM it keeps serving for STOP_DELAY_MS, then
// exits with EXIT_CODE. It prints what happens, one line each, for the tests
// to wait on.
const http = require('http');

const port = Number(process.env.PORT);
const startDelay = Number(process.env.START_DELAY_MS || 0);
const stopDelay = Number(process.env.STOP_DELAY_MS || 0);
const exitCode = Number(process.env.EXIT_CODE || 0);

const server = http.createServer((req, res) => res.end(String(process.pid)));
server.on('error', (err) => {
  console.log(`server error ${err.code}`);
  process.exit(1);
});
setTimeout(() => server.listen(port, () => console.log(`serving ${process.pid}`)), startDelay);

process.on('SIGTERM', () => {
  console.log(`got SIGTERM ${process.pid}`);
  setTimeout(() => process.exit(exitCode), stopDelay);
});
