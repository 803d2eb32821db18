// Apollo's own composition of our subgraphs: the reference our composer is compared with.
//
// Input (stdin): JSON {"subgraphs": {name: sdl}, "urls": {name: url}}; urls are optional
// (they only label the supergraph's join__graph entries). Output (stdout): JSON
// {"supergraphSdl", "apiSchema", "hints"} or, when composition fails, {"errors": [...]}
// with exit status 1. {"graphs": {graph: input}} composes several: {graph: output}.
import { composeServices } from "@apollo/composition";
import { parse, printSchema } from "graphql";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function compose(input) {
  const urls = input.urls ?? {};
  const services = Object.entries(input.subgraphs).map(([name, sdl]) => ({
    name,
    // A placeholder that never leaves the machine: composition alone calls no subgraph.
    url: urls[name] ?? "http://127.0.0.1:9/graphql",
    typeDefs: parse(sdl),
  }));
  const result = composeServices(services);
  if (result.errors) {
    return { errors: result.errors.map((e) => e.message) };
  }
  const api = result.schema.toAPISchema().toGraphQLJSSchema();
  return {
    supergraphSdl: result.supergraphSdl,
    apiSchema: printSchema(api),
    hints: result.hints.map((h) => h.toString()),
  };
}

// {"graphs": {graph: input}} composes several graphs in one run: {graph: output}.
const input = await readStdin();
if (input.graphs) {
  const outputs = Object.fromEntries(
    Object.entries(input.graphs).map(([name, graph]) => [name, compose(graph)]),
  );
  process.stdout.write(JSON.stringify(outputs));
} else {
  const output = compose(input);
  process.stdout.write(JSON.stringify(output));
  if (output.errors) process.exit(1);
}
