// A small HTTP service on Node.js's standard library, packaged as an arrow (see app.recipe).
//   GET /         a greeting with the Node.js version
//   GET /healthz  "ok" (the recipe's readiness probe)
"use strict";
const http = require("http");

const port = Number(process.env.PORT || 3000);

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "Content-Type": "text/plain" });
    return res.end("ok\n");
  }
  if (req.url !== "/") {
    res.writeHead(404, { "Content-Type": "text/plain" });
    return res.end("not found\n");
  }
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ hello: "from Node.js in an arrow", node: process.version }) + "\n");
});

// arrow stop sends SIGTERM: finish what is in flight, then exit 0.
process.on("SIGTERM", () => server.close(() => process.exit(0)));

server.listen(port, "0.0.0.0", () => console.log(`node-web: listening on :${port}`));
