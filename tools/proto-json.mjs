// @ts-check
// An esbuild plugin for the k6 scenarios: `import protos from 'rtbench:protos'` is every contract
// in proto/ as a protobufjs JSON descriptor, parsed here at build time, so a scenario encodes and
// decodes protobuf itself (scripts/lib/transport/grpc-ws.ts) with protobufjs's light build and no .proto
// parsing or file reads at run time. Field names are camelCase, as @grpc/proto-loader and k6
// present them.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';

export const PROTOS_MODULE = 'rtbench:protos';

/** @param {string} protoDir @returns {import('esbuild').Plugin} */
export function protoJson(protoDir) {
  return {
    name: 'rtbench-proto-json',
    setup(build) {
      build.onResolve({ filter: /^rtbench:protos$/ }, (args) => ({ path: args.path, namespace: 'rtbench-protos' }));
      build.onLoad({ filter: /.*/, namespace: 'rtbench-protos' }, () => {
        const files = readdirSync(protoDir)
          .filter((f) => f.endsWith('.proto'))
          .sort()
          .map((f) => join(protoDir, f));
        const root = new protobuf.Root().loadSync(files);
        return { contents: `export default ${JSON.stringify(root.toJSON())};\n`, loader: 'js', watchFiles: files };
      });
    },
  };
}
