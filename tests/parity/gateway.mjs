// Apollo Gateway over our subgraphs: the reference our gateway's answers are compared with.
//
// Usage: node gateway.mjs <supergraph.graphql> <port>
// Serves on 127.0.0.1:<port> and prints "ready http://127.0.0.1:<port>/" once listening.
// The client's Authorization header is forwarded to every subgraph, which verify the bearer
// token against auth's JWKS themselves (the original design's gateway did the same).
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const [supergraphPath, port] = process.argv.slice(2);
if (!supergraphPath || !port) {
  process.stderr.write("usage: node gateway.mjs <supergraph.graphql> <port>\n");
  process.exit(2);
}

class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context.authorization) {
      request.http.headers.set("authorization", context.authorization);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(supergraphPath, "utf8"),
  buildService: ({ url }) => new ForwardingDataSource({ url }),
  logger: { debug() {}, info() {}, warn: console.warn, error: console.error },
});
const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
process.stdout.write(`ready ${url}\n`);

const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
