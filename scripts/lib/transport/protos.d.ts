// `import protos from 'rtbench:protos'`: every contract in proto/ as a protobufjs JSON
// descriptor, made at build time by the esbuild plugin in tools/proto-json.mjs.
declare module 'rtbench:protos' {
  import type { INamespace } from 'protobufjs/light';
  const descriptors: INamespace;
  export default descriptors;
}
