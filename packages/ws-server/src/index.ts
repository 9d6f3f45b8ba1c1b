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
export {
  CloseCode,
  JSON_SUBPROTOCOL,
  MSGPACK_SUBPROTOCOL,
  PROTOCOL_VERSION,
  ROW_KEY,
  SHARED_STRUCTURES,
  parseChannel,
  sharedStructures,
} from './protocol.js';
export type {
  ChannelName,
  ChannelKind,
  KindOfChannel,
  UserRow,
  StreamPosition,
  RowKeyField,
  RowOfKind,
  TickerRow,
  ParsedChannel,
  WireFormat,
  ClientMessage,
  SubscribeMessage,
  UnsubscribeMessage,
  ResyncMessage,
  PingMessage,
  ServerMessage,
  WelcomeMessage,
  SnapshotMessage,
  DeltaMessage,
  UnsubscribedMessage,
  PongMessage,
  ErrorMessage,
  ProtocolErrorCode,
  CloseCodeValue,
} from './protocol.js';
