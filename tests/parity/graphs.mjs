// Apollo Gateway over each corpus graph: one process, one server per supergraph.
//
// Usage: node graphs.mjs <graphs.json>, where the file holds {graph: supergraphSdl}.
// Prints one line "ready {graph: url}" once every gateway listens on 127.0.0.1.
import { readFileSync } from "node:fs";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const [graphsPath] = process.argv.slice(2);
if (!graphsPath) {
  process.stderr.write("usage: node graphs.mjs <graphs.json>\n");
  process.exit(2);
}

const servers = [];
const urls = {};
for (const [name, supergraphSdl] of Object.entries(JSON.parse(readFileSync(graphsPath, "utf8")))) {
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger: { debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  const server = new ApolloServer({
    gateway,
    includeStacktraceInErrorResponses: false,
    introspection: true,
  });
  const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: 0 } });
  servers.push(server);
  urls[name] = url;
}
process.stdout.write(`ready ${JSON.stringify(urls)}\n`);

const stop = async () => {
  await Promise.all(servers.map((server) => server.stop()));
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
