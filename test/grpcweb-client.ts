// The official `@improbable-eng/grpc-web` client with its WebsocketTransport, run in Node with
// `ws` as the WebSocket: the client no one here wrote, used by the bridge's tests and the
// side-by-side measurement against grpcwebproxy. Messages are opaque protobuf bytes (the client
// only needs serializeBinary / deserializeBinary), so any method of proto/ can be called.
import grpcWeb from '@improbable-eng/grpc-web';
import WebSocket from 'ws';

const { grpc } = grpcWeb;
// The transport opens `new WebSocket(url, ['grpc-websockets'])`: Node 20 has no global one.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

/** A protobuf message as bytes. */
export class Raw {
  constructor(readonly bytes: Uint8Array = new Uint8Array(0)) {}
  static deserializeBinary(bytes: Uint8Array): Raw {
    return new Raw(bytes);
  }
  serializeBinary(): Uint8Array {
    return this.bytes;
  }
  toObject(): { bytes: Uint8Array } {
    return { bytes: this.bytes };
  }
}

export interface Kind {
  requestStream: boolean;
  responseStream: boolean;
}

/** The client's method descriptor for `path` (/package.Service/Method). */
export function methodDef(path: string, kind: Kind): grpcWeb.grpc.MethodDefinition<Raw, Raw> {
  const [, serviceName, methodName] = path.split('/');
  return {
    methodName: methodName!,
    service: { serviceName: serviceName! },
    ...kind,
    requestType: Raw,
    responseType: Raw,
  };
}

export interface Outcome {
  responses: Buffer[];
  code: number;
  message: string;
  trailers: Record<string, string[]>;
}

const metadataObject = (md: grpcWeb.grpc.Metadata) => {
  const out: Record<string, string[]> = {};
  md.forEach((name, values) => (out[name] = values));
  return out;
};

const transport = grpc.WebsocketTransport();

/**
 * One call with the client's general API (grpc.client: start, send, finishSend) at `host`
 * (e.g. http://127.0.0.1:8080/grpc-ws); resolves at its end, whatever its status. Times out after `timeoutMs`.
 */
export function officialCall(
  host: string,
  path: string,
  kind: Kind,
  requests: Uint8Array[],
  metadata: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const client = grpc.client(methodDef(path, kind), { host, transport });
    const responses: Buffer[] = [];
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`${path}: no end within ${timeoutMs} ms (${responses.length} responses)`));
    }, timeoutMs);
    client.onMessage((m) => responses.push(Buffer.from((m as Raw).bytes)));
    client.onEnd((code, message, trailers) => {
      clearTimeout(timer);
      resolve({ responses, code, message, trailers: metadataObject(trailers) });
    });
    client.start(metadata);
    for (const r of requests) client.send(new Raw(r));
    client.finishSend();
  });
}

/** A unary call with grpc.unary, the API most browser code uses. */
export function officialUnary(
  host: string,
  path: string,
  request: Uint8Array,
  metadata: Record<string, string> = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    grpc.unary(
      methodDef(path, { requestStream: false, responseStream: false }) as grpcWeb.grpc.UnaryMethodDefinition<Raw, Raw>,
      {
        host,
        transport,
        request: new Raw(request),
        metadata,
        onEnd: (out) =>
          resolve({
            responses: out.message ? [Buffer.from((out.message as Raw).bytes)] : [],
            code: out.status,
            message: out.statusMessage,
            trailers: metadataObject(out.trailers),
          }),
      },
    );
  });
}

/** A server-streaming call with grpc.invoke. */
export function officialInvoke(host: string, path: string, request: Uint8Array): Promise<Outcome> {
  return new Promise((resolve) => {
    const responses: Buffer[] = [];
    grpc.invoke(methodDef(path, { requestStream: false, responseStream: true }), {
      host,
      transport,
      request: new Raw(request),
      onMessage: (m) => responses.push(Buffer.from((m as Raw).bytes)),
      onEnd: (code, message, trailers) => resolve({ responses, code, message, trailers: metadataObject(trailers) }),
    });
  });
}

/**
 * Bidi round trips with one message in flight for `durationMs`: send `request`, wait for its
 * answer, send again; then finish-send. Resolves with the round trips completed and the call's end.
 */
export function pingPong(
  host: string,
  path: string,
  request: Uint8Array,
  durationMs: number,
): Promise<{ roundTrips: number; code: number; message: string }> {
  return new Promise((resolve, reject) => {
    const client = grpc.client(methodDef(path, { requestStream: true, responseStream: true }), { host, transport });
    let roundTrips = 0;
    let until = 0;
    let finished = false;
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`${path}: ping-pong did not end within ${durationMs + 10_000} ms (${roundTrips} round trips)`));
    }, durationMs + 10_000);
    client.onHeaders(() => {});
    client.onMessage(() => {
      roundTrips++;
      if (performance.now() < until) client.send(new Raw(request));
      else if (!finished) {
        finished = true;
        client.finishSend();
      }
    });
    client.onEnd((code, message) => {
      clearTimeout(timer);
      resolve({ roundTrips, code, message });
    });
    client.start();
    until = performance.now() + durationMs;
    client.send(new Raw(request));
  });
}
