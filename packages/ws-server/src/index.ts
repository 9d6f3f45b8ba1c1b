// @tickflow/ws-server: the delta-broadcast WebSocket server (the client SDK is @tickflow/ws-server/client).
export { startWsServer, WsServer } from './wsServer.js';
export { WsServerOptionsSchema } from './wsServerOptions.js';
export type {
  WsServerOptions,
  WsServerEvents,
  WsServerStats,
  FlushInfo,
  CloseOptions,
  Principal,
  AuthenticateHook,
  AuthorizeHook,
  SubscribeHook,
  FeedEvents,
  FeedKind,
  WsBridge,
} from './wsServerOptions.js';
export { jwtAuth, tokenOf, JwtAuthOptionsSchema } from './jwtAuth.js';
export type { JwtAuthOptions } from './jwtAuth.js';
export { redisBridge, RedisBridgeOptionsSchema } from './redisBridge.js';
export type { RedisBridge, RedisBridgeOptions } from './redisBridge.js';
// The wire protocol in full (message shapes, subprotocol names, shared MessagePack
// structures, channel parsing) is @tickflow/ws-server/protocol; the root keeps
// what the server's options and hooks name.
export { CloseCode } from './protocol.js';
export type { ChannelName, ChannelKind, CloseCodeValue, ParsedChannel, UserRow, WireFormat } from './protocol.js';
