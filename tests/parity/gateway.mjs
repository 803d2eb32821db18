// Apollo Gateway over our subgraphs: the reference our gateway's answers are compared with.
//
// Usage: ESTORE_INTERNAL_SIGNING_KEY=<key> node gateway.mjs <supergraph.graphql> <port>
// Serves on 127.0.0.1:<port> and prints "ready http://127.0.0.1:<port>/" once listening.
// The client's Authorization header is forwarded to every subgraph, which verify the bearer
// token against auth's JWKS themselves (the original design's gateway did the same).
// Every subgraph request also carries X-Estore-Client, the client's address signed with the
// services' internal key as estore.kit.identity.internal signs it: subgraphs answer
// `_entities` only to a gateway that vouches for the request this way.
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const [supergraphPath, port] = process.argv.slice(2);
if (!supergraphPath || !port) {
  process.stderr.write("usage: node gateway.mjs <supergraph.graphql> <port>\n");
  process.exit(2);
}

const signingKey = process.env.ESTORE_INTERNAL_SIGNING_KEY;
if (!signingKey) {
  process.stderr.write("set ESTORE_INTERNAL_SIGNING_KEY to the services' internal key\n");
  process.exit(2);
}

// `c1.<base64url(JSON {addr, iat})>.<base64url(HMAC-SHA256 over "c1.<payload>")>`.
function signClient(address) {
  const claims = { addr: address, iat: Math.floor(Date.now() / 1000) };
  const signed = `c1.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const mac = createHmac("sha256", signingKey).update(signed).digest("base64url");
  return `${signed}.${mac}`;
}

class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context.authorization) {
      request.http.headers.set("authorization", context.authorization);
    }
    // Signed per request, so a long-lived gateway never sends a value past its max age.
    request.http.headers.set("x-estore-client", signClient(context.address || "unknown"));
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
  context: async ({ req }) => ({
    authorization: req.headers.authorization,
    address: req.socket.remoteAddress,
  }),
});
process.stdout.write(`ready ${url}\n`);

const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
